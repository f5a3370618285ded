"""The studio's door (``studio_page``), through real requests: who gets past it, and who is sent where.

The personal page (``/studio/me/``, any studio member) and a step-up page (regenerating backup codes)
are real pages; the role check uses a page that only this test mounts (the role-limited pages belong
to other parts of the studio)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import path

from accounts.models import TOTPDevice
from tests.accounts.login_support import fresh_code
from tests.studio_support import login_client, make_person
from vaultstudio import urls as project_urls
from vaultstudio.studio import studio_page

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

ME = "/studio/me/"
STEP_UP_PAGE = "/studio/me/backup-codes/regenerate/"


@studio_page(roles={"ACCOUNT_ADMIN"})
def admin_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("inside")


urlpatterns = [path("door-test/admin-only/", admin_only), *project_urls.urlpatterns]


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_anonymous_is_sent_to_login_with_the_page_to_come_back_to(client):
    response = client.get(ME + "?a=1")
    assert response.status_code == 302
    assert response["Location"] == "/studio/login/?next=%2Fstudio%2Fme%2F%3Fa%3D1"


def test_password_without_mfa_is_sent_to_the_mfa_step(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    client.post("/studio/login/", {"email": person.email, "password": "correct horse battery staple 42"})
    response = client.get(ME)
    assert response["Location"] == "/studio/mfa/?next=%2Fstudio%2Fme%2F"


def test_member_with_the_role_gets_in_others_get_403(client):
    admin = make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))
    auditor = make_person("auditor@example.com", roles=("AUDITOR",))
    nobody = make_person("nobody@example.com")

    assert login_client(client, admin).get("/door-test/admin-only/").status_code == 200
    client.cookies.clear()
    login_client(client, auditor)
    assert client.get(ME).status_code == 200  # any member may see their own page
    refused = client.get("/door-test/admin-only/")
    assert refused.status_code == 403 and "ACCOUNT_ADMIN" in refused.content.decode()
    client.cookies.clear()
    login_client(client, nobody)  # no management role, no binding: not a studio member
    assert client.get(ME).status_code == 403


def test_step_up_page_needs_a_recent_mfa_check_then_returns(client):
    admin = make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))
    login_client(client, admin, mfa_recent=False)
    stale = client.get(STEP_UP_PAGE)
    assert stale.status_code == 302
    assert stale["Location"] == "/studio/step-up/?next=%2Fstudio%2Fme%2Fbackup-codes%2Fregenerate%2F"
    assert client.get(stale["Location"]).status_code == 200
    back = client.post(
        "/studio/step-up/",
        {"method": "totp", "totp-code": fresh_code(TOTPDevice.objects.get(user=admin)), "next": STEP_UP_PAGE},
    )
    assert back["Location"] == STEP_UP_PAGE
    assert client.get(STEP_UP_PAGE).status_code == 200


def test_step_up_expires(client, settings):
    admin = make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))
    login_client(client, admin)
    assert client.get(STEP_UP_PAGE).status_code == 200
    settings.VAULTSTUDIO_STEP_UP_SECONDS = 0
    assert client.get(STEP_UP_PAGE)["Location"].startswith("/studio/step-up/?next=")


def test_pages_are_never_cached(client):
    admin = make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))
    response = login_client(client, admin).get(ME)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    for url in ("/studio/login/", "/studio/step-up/"):
        assert "max-age=0" in client.get(url)["Cache-Control"]
