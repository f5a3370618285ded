"""Reset MFA on a person's page: ACCOUNT_ADMIN only, behind step-up, POST with CSRF only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.mfa.services import backup_codes_regenerate
from accounts.models import BackupCodeDevice, TOTPDevice, User, UserSession
from accounts.principals import user_actor
from audit.models import AuditEvent
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from tests.studio_support import login_client, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person() -> User:
    user = make_person("lost@example.com", roles=(AUDITOR,))
    backup_codes_regenerate(actor=user_actor(user), user=user)
    login_client(Client(), user)
    return user


def _url(user: User) -> str:
    return reverse("studio:user_mfa_reset", args=[user.pk])


def _untouched(user: User) -> bool:
    return (
        TOTPDevice.objects.filter(user=user).exists()
        and BackupCodeDevice.objects.filter(user=user).exists()
        and UserSession.objects.filter(user=user).exists()
        and not AuditEvent.objects.filter(action="mfa.reset").exists()
    )


def test_the_user_page_offers_reset_mfa_as_a_confirmed_post(client: Any, person: User) -> None:
    login_client(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)))
    html = client.get(reverse("studio:user_detail", args=[person.pk])).content.decode()
    assert f'action="{_url(person)}"' in html and 'id="mfa-reset"' in html and "btn-danger" in html
    assert "data-confirm=" in html and "csrfmiddlewaretoken" in html


def test_account_admin_with_recent_mfa_resets_and_is_told_what_happens_next(client: Any, person: User) -> None:
    login_client(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)))
    response = client.post(_url(person))
    assert response.status_code == 302 and response.url == reverse("studio:user_detail", args=[person.pk])
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "must set up MFA again at their next sign-in" in text
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert not BackupCodeDevice.objects.filter(user=person).exists()
    assert not UserSession.objects.filter(user=person).exists()
    assert AuditEvent.objects.filter(action="mfa.reset").count() == 1
    page = client.get(response.url).content.decode()
    assert "None confirmed yet" in page and "must set up MFA again" in page


@pytest.mark.parametrize("roles", [(AUDITOR,), (VAULT_OWNER,), (VAULT_OWNER, AUDITOR)])
def test_other_roles_get_403_and_nothing_changes(client: Any, person: User, roles: tuple[str, ...]) -> None:
    login_client(client, make_person("other@example.com", roles=roles))
    assert client.post(_url(person)).status_code == 403
    assert _untouched(person)


def test_stale_mfa_is_sent_to_step_up_which_returns_to_the_person_page(client: Any, person: User) -> None:
    login_client(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)), mfa_recent=False)
    response = client.post(_url(person))
    assert response.status_code == 302 and response.url.startswith(reverse("studio:step_up"))
    assert _untouched(person)
    # Back from step-up (a GET of the action's URL), the admin lands on the person's page to click again.
    login_client(client, User.objects.get(email="admin@example.com"))
    response = client.get(_url(person))
    assert response.status_code == 302 and response.url == reverse("studio:user_detail", args=[person.pk])


def test_get_changes_nothing(client: Any, person: User) -> None:
    login_client(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)))
    assert client.get(_url(person)).status_code == 302
    assert _untouched(person)


def test_csrf_is_enforced(person: User) -> None:
    client = login_client(Client(enforce_csrf_checks=True), make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)))
    assert client.post(_url(person)).status_code == 403
    assert _untouched(person)
    client.get(reverse("studio:user_detail", args=[person.pk]))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert client.post(_url(person), {"csrfmiddlewaretoken": token}).status_code == 302
    assert AuditEvent.objects.filter(action="mfa.reset").count() == 1


def test_an_admin_cannot_reset_their_own_mfa_here(client: Any) -> None:
    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,))
    login_client(client, admin)
    html = client.get(reverse("studio:user_detail", args=[admin.pk])).content.decode()
    assert 'id="mfa-reset"' not in html and "your personal page" in html
    response = client.post(_url(admin), follow=True)
    assert "cannot reset your own MFA" in response.content.decode()
    assert TOTPDevice.objects.filter(user=admin).exists() and not AuditEvent.objects.filter(action="mfa.reset").exists()


def test_unknown_person_is_404(client: Any) -> None:
    import uuid

    login_client(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)))
    assert client.post(reverse("studio:user_mfa_reset", args=[uuid.uuid4()])).status_code == 404
