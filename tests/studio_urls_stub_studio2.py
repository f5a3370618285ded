"""TEMPORARY (branch studio2, until the "auth" branch is merged): a URLconf for tests that is the
project's own plus trivial stand-ins for the studio's sign-in pages (``studio:login``, ``studio:mfa``,
``studio:step_up``, ``studio:me``, ``studio:logout``), which base.html and ``studio_page`` reverse but
which another branch builds. The lead removes this module, and the fixture's uses, after the merge.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from vaultstudio.studio.site import site
from vaultstudio.urls import urlpatterns as project_urlpatterns


def _page(name: str) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"stand-in for studio:{name}", content_type="text/plain")

    return view


def _logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("studio:login")


_stand_ins = [
    path("login/", _page("login"), name="login"),
    path("mfa/", _page("mfa"), name="mfa"),
    path("step-up/", _page("step_up"), name="step_up"),
    path("me/", _page("me"), name="me"),
    path("logout/", _logout, name="logout"),
]

urlpatterns = [p for p in project_urlpatterns if getattr(p, "namespace", None) != "studio"] + [
    path("studio/", (site.get_urls() + _stand_ins, "studio", "studio")),
]


@pytest.fixture(autouse=True)
def studio2_stub_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__
