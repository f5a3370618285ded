"""Management API routes for policies (under /api/v1/).

Kept apart from ``urls`` (roles and bindings, ACCOUNT_ADMIN) because policies belong to vault owners
(VAULT_OWNER), as the vault routes do; the root URL conf includes both.
"""

from django.urls import path

from . import policy_views as views

urlpatterns = [
    path("policies/", views.PolicyListView.as_view(), name="policy-list"),
    path("policies/validate", views.PolicyValidateView.as_view(), name="policy-validate"),
    path("policies/<str:id>/", views.PolicyDetailView.as_view(), name="policy-detail"),
    path("policies/<str:id>/versions/", views.PolicyVersionListView.as_view(), name="policy-version-list"),
    path(
        "policies/<str:id>/versions/<int:version>/rollback",
        views.PolicyRollbackView.as_view(),
        name="policy-version-rollback",
    ),
    path(
        "policies/<str:id>/versions/<int:version>/diff",
        views.PolicyDiffView.as_view(),
        name="policy-version-diff",
    ),
]
