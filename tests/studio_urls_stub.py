"""TEMPORARY (branch studio1, removed by the lead after the merge): the real URL map with stand-ins for
the studio pages other engineers build in parallel (dashboard, personal page, logout, login, MFA,
step-up), so that ``studio/base.html`` renders and ``studio_page`` can redirect before their merge.

Stand-ins come first in the studio's namespace: where a real page of the same name exists, ``reverse``
picks the last pattern, i.e. the real one.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from vaultstudio.studio.site import site
from vaultstudio.urls import urlpatterns as real_urlpatterns


def _stand_in(name: str):  # type: ignore[no-untyped-def]
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"stand-in for studio:{name}", content_type="text/plain")

    return view


_STAND_INS = [
    path("_stub/dashboard/", _stand_in("dashboard"), name="dashboard"),
    path("_stub/me/", _stand_in("me"), name="me"),
    path("_stub/logout/", _stand_in("logout"), name="logout"),
    path("_stub/login/", _stand_in("login"), name="login"),
    path("_stub/mfa/", _stand_in("mfa"), name="mfa"),
    path("_stub/step-up/", _stand_in("step_up"), name="step_up"),
]

urlpatterns = [
    path("studio/", (_STAND_INS + site.get_urls(), "studio", "studio")),
    *[p for p in real_urlpatterns if str(p.pattern) != "studio/"],
]
