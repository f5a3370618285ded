"""Across every studio URL (found from the resolver, so later pages are covered): a person without
MFA reaches none of them, and every response carries the strict CSP with no inline script, no style
attribute and no inline event handler."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from tests.accounts.login_support import post_password
from tests.studio.url_samples import demo_samples, studio_patterns, studio_urls
from tests.studio_support import login_client, make_person

pytestmark = pytest.mark.django_db

# The sign-in flow itself: what a person between the password and MFA may use.
PRE_MFA = {
    "studio:login",
    "studio:logout",
    "studio:mfa",
    "studio:mfa_enrol",
    "studio:mfa_enrol_totp",
    "studio:otp_webauthn:credential-registration-begin",
    "studio:otp_webauthn:credential-registration-complete",
    "studio:otp_webauthn:credential-authentication-begin",
    "studio:otp_webauthn:credential-authentication-complete",
}


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_enumeration_finds_the_studio_pages():
    names = {name for name, _ in studio_patterns()}
    assert {"studio:login", "studio:mfa", "studio:step_up", "studio:me", "studio:me_device_remove"} <= names


@pytest.mark.parametrize("enrolled", [False, True], ids=["unenrolled", "enrolled-not-verified"])
def test_a_person_without_mfa_reaches_no_studio_url(tmp_path, enrolled):
    person = make_person(
        "pw-only@example.com",
        roles=("ACCOUNT_ADMIN", "VAULT_OWNER", "AUDITOR"),
        superuser=True,
        mfa="totp" if enrolled else None,
    )
    samples = demo_samples(tmp_path, person)
    client = Client()
    assert post_password(client, person.email).status_code == 302
    expected = "/studio/mfa/" if enrolled else ("/studio/mfa/", "/studio/mfa/enrol/")
    checked = 0
    for name, url, _ in studio_urls(samples):
        if name in PRE_MFA:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method.upper()} {name} {url} → {response.status_code}"
            assert response["Location"].startswith(expected), f"{name} {url} → {response['Location']}"
        checked += 1
    assert checked >= 8
    # And the MFA step sends an unenrolled person on to enrolment, nowhere else.
    if not enrolled:
        assert client.get("/studio/mfa/")["Location"].startswith("/studio/mfa/enrol/")


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, _ in attrs:
            if name == "style":
                self.problems.append(f"style= on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
        if tag == "style":
            self.problems.append("<style> block")
        if tag == "script" and not attributes.get("src") and attributes.get("type") != "application/json":
            self.problems.append("inline <script>")
        for name in ("href", "src", "action"):
            if (attributes.get(name) or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name}")


def assert_strict(name: str, response: Any) -> None:
    policy = response.get("Content-Security-Policy", "")
    assert policy, f"{name}: no Content-Security-Policy header"
    assert "frame-ancestors 'none'" in policy, f"{name}: {policy}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, f"{name}: {policy}"
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming and response.content:
        finder = _InlineFinder()
        finder.feed(response.content.decode())
        assert not finder.problems, f"{name}: {finder.problems}"


def test_every_studio_url_has_the_strict_csp_and_no_inline_code(tmp_path):
    viewer = make_person("csp@example.com", roles=("ACCOUNT_ADMIN", "VAULT_OWNER", "AUDITOR"), superuser=True)
    client = login_client(Client(), viewer)
    client.get("/studio/me/")  # the session gets its tracked row (a sample for session URLs)
    samples = demo_samples(tmp_path, viewer)
    pages, not_found, other = 0, [], []
    for name, url, has_parameters in studio_urls(samples):
        if name == "studio:logout":
            continue  # would end the session the rest of the loop uses
        response = client.get(url)
        assert_strict(name, response)
        if response.status_code == 404:
            assert has_parameters, f"{name} {url}: 404 without parameters"
            not_found.append(name)
            continue
        # Everything the viewer may do: never an error, never "not allowed" (they hold every role).
        assert response.status_code < 500 and response.status_code != 403, f"{name} {url} → {response.status_code}"
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            pages += 1
        elif response.status_code not in (200, 302, 405):
            other.append(f"{name}={response.status_code}")
    parametrized = sum(1 for _, conv in studio_patterns() if conv)
    print(f"\nCSP checked: {pages} HTML pages; 404 for sample ids: {len(not_found)} {not_found}; other: {other}")
    assert pages >= 5
    assert len(not_found) <= parametrized // 2, f"too many sample ids missed: {not_found}"
    # Anonymous and pre-MFA pages too: the login, MFA and enrolment pages and the lockout page.
    anonymous = Client()
    for url in ("/studio/login/", "/studio/mfa/", "/studio/me/"):
        assert_strict(url, anonymous.get(url))


def test_sign_in_pages_have_the_strict_csp(client):
    person = make_person("e@example.com", roles=("ACCOUNT_ADMIN",), mfa=None)
    assert_strict("login", client.get("/studio/login/"))
    post_password(client, person.email)
    for url in ("/studio/mfa/enrol/", "/studio/mfa/enrol/totp/"):
        response = client.get(url)
        assert response.status_code == 200
        assert_strict(url, response)
