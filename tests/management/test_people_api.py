"""People and groups through /api/v1/users/ and /api/v1/groups/ (read-only for now)."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from .support import assert_error, send

pytestmark = pytest.mark.django_db

USER_FIELDS = {
    "id",
    "email",
    "name",
    "source",
    "external_id",
    "is_active",
    "last_login",
    "date_joined",
    "deactivated_at",
}


def test_users_list_shows_people_without_password_fields(admin_api, user_factory):
    alice = user_factory(
        "alice@example.com", name="Alice", source="scim", external_id="okta-1", attributes={"department": "billing"}
    )
    user_factory("bob@example.com", is_active=False, deactivated_at=timezone.now())

    response = admin_api.get("/api/v1/users/")

    assert response.status_code == 200
    listing = response.json()
    assert listing["count"] == 2
    assert [u["email"] for u in listing["results"]] == ["alice@example.com", "bob@example.com"]
    assert all(set(u) == USER_FIELDS for u in listing["results"])
    first = listing["results"][0]
    assert (first["id"], first["name"], first["source"], first["external_id"], first["is_active"]) == (
        str(alice.id),
        "Alice",
        "scim",
        "okta-1",
        True,
    )
    assert listing["results"][1]["is_active"] is False and listing["results"][1]["deactivated_at"]
    # Neither the hash nor anything derived from it leaves, however it is named.
    assert alice.password and alice.password not in response.content.decode()
    assert "password" not in response.content.decode()


def test_user_detail(admin_api, user_factory):
    person = user_factory("carol@example.com")
    response = admin_api.get(f"/api/v1/users/{person.id}/")
    assert response.status_code == 200
    assert set(response.json()) == USER_FIELDS and response.json()["email"] == "carol@example.com"
    assert person.password not in response.content.decode()
    assert_error(admin_api.get(f"/api/v1/users/{uuid.uuid4()}/"), 404, "No user")
    assert_error(admin_api.get("/api/v1/users/carol@example.com/"), 404, "No user")


def test_users_are_read_only_here(admin_api, user_factory):
    person = user_factory()
    assert_error(send(admin_api, "post", "/api/v1/users/", {"email": "new@example.com"}), 405)
    assert_error(send(admin_api, "patch", f"/api/v1/users/{person.id}/", {"is_active": False}), 405)


def test_groups_list_members_as_emails(admin_api, user_factory, group_factory):
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    group_factory("analysts", members=(alice, bob), external_id="okta-g1")
    group_factory("empty")

    listing = admin_api.get("/api/v1/groups/").json()

    assert listing["count"] == 2
    analysts, empty = listing["results"]
    assert set(analysts) == {"id", "name", "external_id", "members"}
    assert (analysts["name"], analysts["external_id"]) == ("analysts", "okta-g1")
    assert sorted(analysts["members"]) == ["alice@example.com", "bob@example.com"]
    assert empty["members"] == []
