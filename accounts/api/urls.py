"""Management API routes for service accounts, their keys, people and groups (under /api/v1/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("service-accounts/", views.ServiceAccountListView.as_view(), name="service-account-list"),
    path("service-accounts/<str:id>/", views.ServiceAccountDetailView.as_view(), name="service-account-detail"),
    path("service-accounts/<str:id>/keys/", views.ServiceAccountKeyListView.as_view(), name="service-account-key-list"),
    path(
        "service-accounts/<str:id>/keys/<str:key_id>/",
        views.ServiceAccountKeyDetailView.as_view(),
        name="service-account-key-detail",
    ),
    path("users/", views.UserListView.as_view(), name="user-list"),
    path("users/<str:id>/", views.UserDetailView.as_view(), name="user-detail"),
    path("groups/", views.GroupListView.as_view(), name="group-list"),
]
