"""Studio URLs of policies (mounted under /studio/ by vaultstudio.studio.site)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from . import roles, simulator, views

urlpatterns: list[Any] = [
    path("policies/", views.policy_list_page, name="policies"),
    path("policies/new/", views.policy_create_page, name="policy_create"),
    path("policies/validate/", views.policy_validate_endpoint, name="policy_validate"),
    path("policies/<uuid:policy_id>/", views.policy_edit_page, name="policy_edit"),
    path("policies/<uuid:policy_id>/versions/", views.policy_versions_page, name="policy_versions"),
    path("policies/<uuid:policy_id>/rollback/", views.policy_rollback_page, name="policy_rollback"),
    path("policies/<uuid:policy_id>/delete/", views.policy_delete_page, name="policy_delete"),
    path("simulate/", simulator.simulate_page, name="simulate"),
    path("roles/", roles.role_list_page, name="roles"),
    path("roles/new/", roles.role_create_page, name="role_create"),
    path("roles/<uuid:role_id>/", roles.role_detail_page, name="role_detail"),
    path("roles/<uuid:role_id>/delete/", roles.role_delete_page, name="role_delete"),
    path("roles/<uuid:role_id>/bindings/", roles.binding_create_page, name="binding_create"),
    path("roles/<uuid:role_id>/bindings/<uuid:binding_id>/delete/", roles.binding_delete_page, name="binding_delete"),
]
