"""The root URL conf, plus the policy routes while the root does not include them yet.

The policy routes live in ``policies.api.policy_urls`` (VAULT_OWNER, like the vault routes), apart
from the ACCOUNT_ADMIN role routes; once ``vaultstudio.urls`` includes them, this adds nothing.
"""

from django.urls import include, path

from vaultstudio.urls import urlpatterns as root_urlpatterns

POLICY_URLS = "policies.api.policy_urls"


def _includes(patterns: list, module: str) -> bool:
    return any(getattr(getattr(p, "urlconf_name", None), "__name__", None) == module for p in patterns)


urlpatterns = list(root_urlpatterns)
if not _includes(urlpatterns, POLICY_URLS):
    urlpatterns.append(path("api/v1/", include(POLICY_URLS)))
