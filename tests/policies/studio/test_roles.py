"""The role pages: ACCOUNT_ADMIN only; custom roles with their policies; bindings to people, groups and
service accounts with optional expiry and (VAULT_OWNER) vault; built-in roles cannot be deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Group
from accounts.services import service_account_create
from audit.models import AuditEvent
from policies.models import Role, RoleBinding
from tests.studio_support import login_client, make_person
from tests.vaults.studio.support import ACTOR, MASKED_POLICY, assert_strict_csp, persons_vault, policy_of
from vaults.models import Vault

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault() -> Vault:
    return persons_vault(people=[])


@pytest.fixture
def admin(client: Any) -> Any:
    person = make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))
    login_client(client, person)
    return person


@pytest.fixture
def role(vault: Vault) -> Role:
    from policies.services import role_create

    return role_create(actor=ACTOR, name="support", policies=[policy_of(vault, "masked", MASKED_POLICY)])


def _pages(role: Role) -> list[str]:
    kw = {"role_id": role.id}
    return [
        reverse("studio:roles"),
        reverse("studio:role_create"),
        reverse("studio:role_detail", kwargs=kw),
        reverse("studio:role_delete", kwargs=kw),
        reverse("studio:role_detail", kwargs={"role_id": Role.objects.get(name="VAULT_OWNER").id}),
    ]


def test_an_account_admin_opens_every_role_page(client: Any, admin: Any, role: Role) -> None:
    for url in _pages(role):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)
    listing = client.get(reverse("studio:roles")).context
    assert {r.name for r in listing["builtin"]} == {"ACCOUNT_ADMIN", "VAULT_OWNER", "AUDITOR"}
    assert [r.name for r in listing["custom"]] == ["support"]


@pytest.mark.parametrize("roles", [("VAULT_OWNER",), ("AUDITOR",)])
def test_other_roles_get_403(client: Any, role: Role, roles: tuple[str, ...]) -> None:
    login_client(client, make_person("other@example.com", roles=roles))
    for url in _pages(role):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("studio:role_create"), {"name": "sneaky"}).status_code == 403
    bind = reverse("studio:binding_create", kwargs={"role_id": role.id})
    assert client.post(bind, {"subject": "x"}).status_code == 403
    assert not Role.objects.filter(name="sneaky").exists()


def test_create_a_role_with_policies(client: Any, admin: Any, vault: Vault) -> None:
    policy = policy_of(vault, "plain", MASKED_POLICY)
    response = client.post(reverse("studio:role_create"), {"name": "analysts", "policies": [str(policy.pk)]})
    created = Role.objects.get(name="analysts")
    assert response.url == reverse("studio:role_detail", kwargs={"role_id": created.id})
    assert list(created.policies.all()) == [policy]
    assert AuditEvent.objects.get(action="role.create").actor_id == str(admin.pk)


def test_a_taken_or_empty_name_writes_nothing(client: Any, admin: Any, role: Role) -> None:
    before = AuditEvent.objects.count()
    response = client.post(reverse("studio:role_create"), {"name": "support"})
    assert "already exists" in str(response.context["form"].errors["name"])
    response = client.post(reverse("studio:role_create"), {"name": ""})
    assert response.context["form"].errors["name"]
    assert Role.objects.filter(builtin=False).count() == 1 and AuditEvent.objects.count() == before


def test_edit_a_roles_policies(client: Any, admin: Any, role: Role, vault: Vault) -> None:
    other = policy_of(vault, "other", MASKED_POLICY)
    url = reverse("studio:role_detail", kwargs={"role_id": role.id})
    response = client.post(url, {"name": "support-2", "description": "d", "policies": [str(other.pk)]})
    assert response.url == url
    role.refresh_from_db()
    assert (role.name, list(role.policies.all())) == ("support-2", [other])


def test_bind_unbind_a_person_a_group_and_a_service_account(client: Any, admin: Any, role: Role) -> None:
    person = make_person("analyst@example.com", mfa=None)
    group = Group.objects.create(name="support-team")
    account = service_account_create(actor=ACTOR, name="billing")
    bind = reverse("studio:binding_create", kwargs={"role_id": role.id})
    expires = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    for subject in (f"user:{person.pk}", f"group:{group.pk}", f"sa:{account.pk}"):
        response = client.post(bind, {"subject": subject, "expires_at": expires})
        assert response.status_code == 302, response.context["binding_form"].errors
    bindings = list(RoleBinding.objects.filter(role=role))
    assert {b.subject for b in bindings} == {
        ("user", person.email),
        ("group", group.name),
        ("service_account", str(account.client_id)),
    }
    assert all(b.expires_at is not None for b in bindings)
    assert AuditEvent.objects.filter(action="role.binding.create").count() == 3
    # Twice the same subject: refused, nothing written.
    response = client.post(bind, {"subject": f"user:{person.pk}"})
    assert "already bound" in str(response.context["binding_form"].non_field_errors())
    delete = reverse("studio:binding_delete", kwargs={"role_id": role.id, "binding_id": bindings[0].id})
    assert client.post(delete).status_code == 302
    assert RoleBinding.objects.filter(role=role).count() == 2
    assert AuditEvent.objects.filter(action="role.binding.delete").count() == 1


def test_bad_bindings_are_refused(client: Any, admin: Any, role: Role) -> None:
    person = make_person("analyst@example.com", mfa=None)
    bind = reverse("studio:binding_create", kwargs={"role_id": role.id})
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(bind, {"subject": f"user:{person.pk}", "expires_at": past})
    assert response.context["binding_form"].errors["expires_at"]
    response = client.post(bind, {"subject": "user:00000000-0000-4000-8000-000000000000"})
    assert response.context["binding_form"].errors["subject"]
    assert not RoleBinding.objects.filter(role=role).exists()


def test_scope_a_vault_owner_binding_to_one_vault(client: Any, admin: Any, vault: Vault) -> None:
    owner_role = Role.objects.get(name="VAULT_OWNER")
    person = make_person("owner@example.com", mfa=None)
    response = client.post(
        reverse("studio:binding_create", kwargs={"role_id": owner_role.id}),
        {"subject": f"user:{person.pk}", "vault": str(vault.pk)},
    )
    assert response.status_code == 302
    binding = RoleBinding.objects.get(role=owner_role, user=person)
    assert str(binding.vault_id) == str(vault.pk)
    page = client.get(reverse("studio:role_detail", kwargs={"role_id": owner_role.id}))
    assert vault.name.encode() in page.content


def test_builtin_roles_cannot_be_deleted_and_custom_ones_can(client: Any, admin: Any, role: Role) -> None:
    builtin = Role.objects.get(name="AUDITOR")
    client.post(reverse("studio:role_delete", kwargs={"role_id": builtin.id}))
    assert Role.objects.filter(name="AUDITOR").exists()
    assert client.post(reverse("studio:role_delete", kwargs={"role_id": role.id})).url == reverse("studio:roles")
    assert not Role.objects.filter(pk=role.pk).exists()
    assert AuditEvent.objects.filter(action="role.delete").exists()
