"""URL map: the data plane (/v1), the management API (/api/v1), the studio (/studio/), OpenAPI and well-known
documents."""

from csp.decorators import csp_update
from django.urls import include, path
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api.views_token import TokenView, jwks_view
from vaultstudio.studio import site as studio_site

urlpatterns = [
    path("v1/auth/sa/oauth/token", TokenView.as_view(), name="token"),
    path(".well-known/jwks.json", require_GET(jwks_view), name="jwks"),
    path("v1/audit/", include("audit.api.skyflow_urls")),
    path("v1/vaults/", include("vaults.api.data_urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("policies.api.urls")),
    path("api/v1/", include("vaults.api.urls")),
    path("api/v1/", include("policies.api.policy_urls")),
    path("api/v1/", include("policies.api.simulate_urls")),
    path("api/v1/audit/", include("audit.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI sets inline styles at run time: that page alone may, its scripts stay strict.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("studio/", studio_site.urls),
    path("", RedirectView.as_view(url="/studio/", permanent=False)),
]
