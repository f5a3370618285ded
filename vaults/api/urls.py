"""Management API routes for vaults (under /api/v1/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("vaults/", views.VaultListView.as_view(), name="vault-list"),
    path("vaults/<str:id>/", views.VaultDetailView.as_view(), name="vault-detail"),
    path("vaults/<str:id>/schema", views.VaultSchemaView.as_view(), name="vault-schema"),
]
