"""Studio URLs of accounts (mounted under /studio/ by vaultstudio.studio.site): users, groups and
service accounts (ACCOUNT_ADMIN)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from . import service_accounts as sa
from . import views

urlpatterns: list[Any] = [
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<uuid:user_id>/", views.user_detail, name="user_detail"),
    path("users/<uuid:user_id>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<uuid:user_id>/activate/", views.user_activate, name="user_activate"),
    path("users/<uuid:user_id>/mfa-reset/", views.user_mfa_reset, name="user_mfa_reset"),
    path("groups/", views.group_list, name="groups"),
    path("groups/<uuid:group_id>/", views.group_detail, name="group_detail"),
    path("groups/<uuid:group_id>/members/", views.group_member_add, name="group_member_add"),
    path(
        "groups/<uuid:group_id>/members/<uuid:user_id>/remove/", views.group_member_remove, name="group_member_remove"
    ),
    path("groups/<uuid:group_id>/delete/", views.group_delete, name="group_delete"),
    path("service-accounts/", sa.service_account_list, name="service_accounts"),
    path("service-accounts/new/", sa.service_account_create, name="service_account_create"),
    path("service-accounts/<uuid:account_id>/", sa.service_account_detail, name="service_account_detail"),
    path(
        "service-accounts/<uuid:account_id>/deactivate/",
        sa.service_account_set_active,
        {"active": False},
        name="service_account_deactivate",
    ),
    path(
        "service-accounts/<uuid:account_id>/activate/",
        sa.service_account_set_active,
        {"active": True},
        name="service_account_activate",
    ),
    path("service-accounts/<uuid:account_id>/keys/generate/", sa.key_generate, name="service_account_key_generate"),
    path("service-accounts/<uuid:account_id>/keys/upload/", sa.key_upload, name="service_account_key_upload"),
    path(
        "service-accounts/<uuid:account_id>/keys/<uuid:key_id>/revoke/",
        sa.key_revoke,
        name="service_account_key_revoke",
    ),
]
