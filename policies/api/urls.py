"""Management API routes for roles and role bindings (under /api/v1/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("roles/", views.RoleListView.as_view(), name="role-list"),
    path("roles/<str:id>/", views.RoleDetailView.as_view(), name="role-detail"),
    path("roles/<str:id>/bindings/", views.RoleBindingListView.as_view(), name="role-binding-list"),
    path(
        "roles/<str:id>/bindings/<str:binding_id>/",
        views.RoleBindingDetailView.as_view(),
        name="role-binding-detail",
    ),
]
