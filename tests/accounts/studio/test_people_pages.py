"""Users and groups pages (ACCOUNT_ADMIN only): who may reach them, what they write, what bad input does."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.models import BackupCodeDevice, Group, User
from audit.models import AuditEvent
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER, Role, RoleBinding
from tests.query_budget import assert_constant_queries
from tests.studio_support import login_client, make_person, password_only_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client: Any) -> User:
    user = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,), name="Ada Admin")
    login_client(client, user)
    return user


def _pages(person: User, group: Group) -> list[str]:
    return [
        reverse("studio:users"),
        reverse("studio:user_create"),
        reverse("studio:user_detail", args=[person.pk]),
        reverse("studio:groups"),
        reverse("studio:group_detail", args=[group.pk]),
    ]


def test_account_admin_reaches_every_people_page(client: Any, admin: User) -> None:
    person = make_person("p@example.com")
    group = Group.objects.create(name="support")
    for url in _pages(person, group):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert b"<script>" not in response.content and b'style="' not in response.content


@pytest.mark.parametrize("roles", [(AUDITOR,), (VAULT_OWNER,), (VAULT_OWNER, AUDITOR)])
def test_other_roles_get_403_on_every_people_page_and_action(client: Any, roles: tuple[str, ...]) -> None:
    login_client(client, make_person("other@example.com", roles=roles))
    person = make_person("p@example.com")
    group = Group.objects.create(name="support")
    for url in _pages(person, group):
        assert client.get(url).status_code == 403, url
    for url in (
        reverse("studio:user_deactivate", args=[person.pk]),
        reverse("studio:group_member_add", args=[group.pk]),
        reverse("studio:group_delete", args=[group.pk]),
    ):
        assert client.post(url, {"email": person.email}).status_code == 403, url
    person.refresh_from_db()
    assert person.is_active and Group.objects.filter(pk=group.pk).exists() and not group.members.exists()


def test_anonymous_is_sent_to_login(client: Any) -> None:
    for url in (reverse("studio:users"), reverse("studio:groups")):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("studio:login"))


def test_password_only_session_is_sent_to_mfa(client: Any) -> None:
    user = make_person("nomfa@example.com", roles=(ACCOUNT_ADMIN,))
    password_only_client(client, user)  # password passed, no MFA check in this session
    response = client.get(reverse("studio:users"))
    assert response.status_code == 302 and response.url.startswith(reverse("studio:mfa"))


def test_user_list_shows_source_mfa_last_login_and_status(client: Any, admin: User) -> None:
    make_person("nodevice@example.com", mfa=None, name="No Device")
    backup = make_person("backup@example.com", source="scim", is_active=False)
    BackupCodeDevice.objects.create(user=backup, name="Backup codes", confirmed=True)
    html = client.get(reverse("studio:users")).content.decode()
    assert "nodevice@example.com" in html and "not enrolled" in html
    assert "Backup codes" in html and "TOTP" in html
    assert "scim" in html and "deactivated" in html and "never" in html


def test_user_search_and_status_filter(client: Any, admin: User) -> None:
    make_person("grace@example.com", name="Grace Hopper")
    make_person("linus@example.com", name="Linus", is_active=False)
    html = client.get(reverse("studio:users"), {"q": "hopper"}).content.decode()
    assert "grace@example.com" in html and "linus@example.com" not in html
    html = client.get(reverse("studio:users"), {"status": "inactive"}).content.decode()
    assert "linus@example.com" in html and "grace@example.com" not in html


def test_user_list_queries_do_not_grow_with_people(
    client: Any, admin: User, django_assert_max_num_queries: Any
) -> None:
    def grow() -> None:
        for i in range(30):
            person = make_person(f"person{i}@example.com")
            BackupCodeDevice.objects.create(user=person, name="Backup codes", confirmed=True)

    assert_constant_queries(client, reverse("studio:users"), grow, django_assert_max_num_queries)


def test_group_list_queries_do_not_grow_with_groups(
    client: Any, admin: User, django_assert_max_num_queries: Any
) -> None:
    role = Role.objects.get(name=AUDITOR)

    def grow() -> None:
        for i in range(20):
            group = Group.objects.create(name=f"g{i}")
            group.members.add(admin)
            RoleBinding.objects.create(role=role, group=group)

    first = Group.objects.create(name="first")
    first.members.add(admin)
    RoleBinding.objects.create(role=role, group=first)
    assert_constant_queries(client, reverse("studio:groups"), grow, django_assert_max_num_queries)


def test_create_user_writes_the_person_and_its_audit_event(client: Any, admin: User) -> None:
    response = client.post(
        reverse("studio:user_create"),
        {
            "email": "New.Person@Example.com",
            "name": "New Person",
            "password": "a long enough pass 42",
            "password2": "a long enough pass 42",
        },
    )
    user = User.objects.get(email="new.person@example.com")
    assert response.status_code == 302 and response.url == reverse("studio:user_detail", args=[user.pk])
    assert user.check_password("a long enough pass 42") and user.source == "local" and user.name == "New Person"
    event = AuditEvent.objects.get(action="user.create")
    assert event.actor_id == str(admin.pk) and str(user.pk) in event.resource_ids
    assert "a long enough pass" not in event.details


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"email": "not-an-email", "password": "a long enough pass 42", "password2": "a long enough pass 42"},
            "valid email",
        ),
        (
            {"email": "x@example.com", "password": "a long enough pass 42", "password2": "another one entirely"},
            "differ",
        ),
        ({"email": "x@example.com", "password": "short", "password2": "short"}, "too short"),
        (
            {"email": "admin@example.com", "password": "a long enough pass 42", "password2": "a long enough pass 42"},
            "already exists",
        ),
    ],
)
def test_create_user_bad_input_shows_errors_and_writes_nothing(
    client: Any, admin: User, data: dict[str, str], message: str
) -> None:
    users, events = User.objects.count(), AuditEvent.objects.count()
    response = client.post(reverse("studio:user_create"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert User.objects.count() == users and AuditEvent.objects.count() == events


def test_edit_name_and_blank_too_long_name_refused(client: Any, admin: User) -> None:
    person = make_person("p@example.com", name="Old")
    url = reverse("studio:user_detail", args=[person.pk])
    assert client.post(url, {"name": "New Name"}).status_code == 302
    person.refresh_from_db()
    assert person.name == "New Name" and AuditEvent.objects.filter(action="user.update").count() == 1
    response = client.post(url, {"name": "x" * 300})
    assert response.status_code == 400 and "at most 255" in response.content.decode()
    person.refresh_from_db()
    assert person.name == "New Name" and AuditEvent.objects.filter(action="user.update").count() == 1


def test_deactivate_ends_sessions_at_once_and_reactivate(client: Any, admin: User) -> None:
    from django.test import Client

    victim = make_person("victim@example.com", roles=(AUDITOR,))
    victim_client = login_client(Client(), victim)
    assert victim_client.get(reverse("studio:dashboard")).status_code == 200
    response = client.post(reverse("studio:user_deactivate", args=[victim.pk]))
    assert response.status_code == 302
    victim.refresh_from_db()
    assert not victim.is_active and victim.deactivated_at is not None
    assert all(s.get_decoded().get("_auth_user_id") != str(victim.pk) for s in Session.objects.all())
    response = victim_client.get(reverse("studio:dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("studio:login"))
    event = AuditEvent.objects.get(action="user.deactivate")
    assert '"sessions_ended":1' in event.details
    assert client.post(reverse("studio:user_activate", args=[victim.pk])).status_code == 302
    victim.refresh_from_db()
    assert victim.is_active and victim.deactivated_at is None
    assert AuditEvent.objects.filter(action="user.activate").count() == 1


def test_an_admin_cannot_deactivate_themselves(client: Any, admin: User) -> None:
    response = client.post(reverse("studio:user_deactivate", args=[admin.pk]), follow=True)
    assert "cannot deactivate yourself" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active and not AuditEvent.objects.filter(action="user.deactivate").exists()


def test_user_detail_shows_direct_and_group_roles_groups_and_devices(client: Any, admin: User) -> None:
    person = make_person("p@example.com", roles=(VAULT_OWNER,))
    group = Group.objects.create(name="auditors")
    group.members.add(person)
    RoleBinding.objects.create(role=Role.objects.get(name=AUDITOR), group=group)
    html = client.get(reverse("studio:user_detail", args=[person.pk])).content.decode()
    assert "VAULT_OWNER" in html and "AUDITOR" in html and "through" in html and "auditors" in html
    assert "TOTP" in html and "Authenticator app" in html


def test_unknown_user_or_group_is_404(client: Any, admin: User) -> None:
    import uuid

    assert client.get(reverse("studio:user_detail", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("studio:group_detail", args=[uuid.uuid4()])).status_code == 404


def test_group_create_rename_members_delete(client: Any, admin: User) -> None:
    response = client.post(reverse("studio:groups"), {"name": "  Support  "})
    group = Group.objects.get(name="Support")
    assert response.status_code == 302 and response.url == reverse("studio:group_detail", args=[group.pk])
    detail = reverse("studio:group_detail", args=[group.pk])
    assert client.post(detail, {"name": "Support EU"}).status_code == 302
    group.refresh_from_db()
    assert group.name == "Support EU"
    person = make_person("p@example.com")
    assert (
        client.post(reverse("studio:group_member_add", args=[group.pk]), {"email": "P@example.com"}).status_code == 302
    )
    assert list(group.members.all()) == [person]
    assert person.email in client.get(detail).content.decode()
    remove = reverse("studio:group_member_remove", args=[group.pk, person.pk])
    assert client.post(remove).status_code == 302
    assert not group.members.exists()
    RoleBinding.objects.create(role=Role.objects.get(name=AUDITOR), group=group)
    assert client.post(reverse("studio:group_delete", args=[group.pk])).status_code == 302
    assert not Group.objects.exists() and not RoleBinding.objects.filter(group__isnull=False).exists()
    actions = list(AuditEvent.objects.filter(action__startswith="group.").values_list("action", flat=True))
    assert actions == ["group.create", "group.update", "group.member.assign", "group.member.unassign", "group.delete"]


def test_group_bad_input_shows_errors_and_writes_nothing(client: Any, admin: User) -> None:
    Group.objects.create(name="taken")
    group = Group.objects.create(name="mine")
    events = AuditEvent.objects.count()
    response = client.post(reverse("studio:groups"), {"name": "taken"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    response = client.post(reverse("studio:groups"), {"name": ""})
    assert response.status_code == 400 and "required" in response.content.decode()
    response = client.post(reverse("studio:group_detail", args=[group.pk]), {"name": "taken"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    response = client.post(reverse("studio:group_member_add", args=[group.pk]), {"email": "nobody@example.com"})
    assert response.status_code == 400 and "No person has the email" in response.content.decode()
    group.refresh_from_db()
    assert group.name == "mine" and not group.members.exists()
    assert Group.objects.count() == 2 and AuditEvent.objects.count() == events


def test_group_membership_change_changes_studio_roles(client: Any, admin: User) -> None:
    from django.test import Client

    person = make_person("p@example.com", roles=(VAULT_OWNER,))
    group = Group.objects.create(name="auditors")
    RoleBinding.objects.create(role=Role.objects.get(name=AUDITOR), group=group)
    person_client = login_client(Client(), person)
    assert person_client.get(reverse("studio:audit")).status_code == 403
    client.post(reverse("studio:group_member_add", args=[group.pk]), {"email": person.email})
    assert person_client.get(reverse("studio:audit")).status_code == 200
