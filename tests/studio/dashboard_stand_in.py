"""Test-only URLconf for branches where the dashboard (``studio:dashboard``, another engineer's page)
is not merged yet: the project's URLs, with a bare page under that name so that ``studio/base.html``
(which links to it) renders. Used only when the real one is missing (the ``studio_urlconf`` fixture below).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, path, reverse

from vaultstudio import urls as project_urls
from vaultstudio.studio import site, studio_page


@studio_page
def dashboard(request: HttpRequest) -> HttpResponse:
    return HttpResponse("dashboard stand-in", content_type="text/plain")


def _is_studio(pattern: object) -> bool:
    return getattr(pattern, "namespace", None) == "studio" or getattr(pattern, "app_name", None) == "studio"


urlpatterns = [
    path("studio/", (site.get_urls() + [path("", dashboard, name="dashboard")], "studio", "studio")),
    *[p for p in project_urls.urlpatterns if not _is_studio(p)],
]


@pytest.fixture(autouse=True)
def studio_urlconf(settings: Any) -> None:
    """Swap in this URLconf only while ``studio:dashboard`` does not exist (autouse where imported)."""
    try:
        reverse("studio:dashboard")
    except NoReverseMatch:
        settings.ROOT_URLCONF = "tests.studio.dashboard_stand_in"
