"""The selectors behind the management API: roles, their bindings, people by email, groups by name."""

from __future__ import annotations

import uuid

import pytest

from accounts.selectors import group_get_by_name, user_get_by_email
from policies.selectors import role_binding_get, role_bindings, role_get
from policies.services import binding_create, role_create
from vaultstudio.errors import NotFound

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role_id", ["not-a-uuid", "", str(uuid.uuid4())])
def test_role_get_is_a_404_naming_the_id(role_id):
    with pytest.raises(NotFound, match=f"No role with id {role_id}."):
        role_get(role_id)


def test_role_get_and_its_bindings(actor, user_factory, group_factory, django_assert_num_queries):
    role = role_create(actor=actor, name="selector-role")
    other = role_create(actor=actor, name="other-role")
    person, group = user_factory(), group_factory()
    by_user = binding_create(actor=actor, role=role, user=person)
    by_group = binding_create(actor=actor, role=role, group=group)
    elsewhere = binding_create(actor=actor, role=other, user=person)

    assert role_get(str(role.id)) == role
    with django_assert_num_queries(1):  # the subjects are joined in, so reading them costs nothing more
        subjects = {binding.subject for binding in role_bindings(role)}
    assert subjects == {("user", person.email), ("group", group.name)}
    assert role_binding_get(role, str(by_group.id)) == by_group
    assert role_binding_get(role, str(by_user.id)) == by_user
    for binding_id in (str(elsewhere.id), "not-a-uuid"):
        with pytest.raises(NotFound, match=f"Role selector-role has no binding {binding_id}."):
            role_binding_get(role, binding_id)


def test_user_get_by_email_ignores_case_and_spaces(user_factory):
    person = user_factory("ada@example.com")
    assert user_get_by_email("  Ada@Example.COM ") == person
    assert user_get_by_email("nobody@example.com") is None


def test_group_get_by_name_is_exact_and_fetches_no_members(user_factory, group_factory, django_assert_num_queries):
    group = group_factory("Operators", members=(user_factory(),))
    with django_assert_num_queries(1):
        assert group_get_by_name("Operators") == group
    assert group_get_by_name("operators") is None
