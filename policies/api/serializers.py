"""Management API payloads for roles and role bindings (DESIGN.md §15).

A binding request names its subject the way an operator knows it — a service account's client_id,
a person's email, a group's name — and the serializer resolves it, so an unknown subject is a 400
naming the field and the value rather than a 404 about the URL. Policies are named by id the same
way: an unknown id is a 400 naming it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.selectors import group_get_by_name, service_account_get, user_get_by_email
from policies.models import Policy, Role, RoleBinding
from vaultstudio.api import StrictInputSerializer
from vaultstudio.errors import NotFound


def _resolve_policies(ids: list[Any]) -> list[Policy]:
    """Policy ids → policies, in the order given, once each; a 400 naming every unknown id."""
    wanted = list(dict.fromkeys(ids))
    found = {p.pk: p for p in Policy.objects.filter(pk__in=wanted)}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise serializers.ValidationError(f"No policy with id {', '.join(missing)}.")
    return [found[i] for i in wanted]


_POLICIES_HELP = "Policy ids (of any vault) the role grants; built-in roles carry none."


class RoleCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=128)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    policies = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, help_text=_POLICIES_HELP
    )

    def validate_policies(self, value: list[Any]) -> list[Policy]:
        return _resolve_policies(value)


class RoleUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=128, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    policies = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text=_POLICIES_HELP + " The list replaces the role's."
    )

    def validate_policies(self, value: list[Any]) -> list[Policy]:
        return _resolve_policies(value)


SUBJECT_HELP = (
    'Name exactly one subject: {"service_account": "<client_id>"}, {"user": "<email>"} or {"group": "<name>"}.'
)


def _service_account(client_id: str) -> Any:
    try:
        return service_account_get(client_id)
    except NotFound as exc:
        raise serializers.ValidationError(
            {"service_account": [f"No service account with client_id {client_id!r}."]}
        ) from exc


def _user(email: str) -> Any:
    user = user_get_by_email(email)
    if user is None:
        raise serializers.ValidationError({"user": [f"No user with email {email!r}."]})
    return user


def _group(name: str) -> Any:
    group = group_get_by_name(name)
    if group is None:
        raise serializers.ValidationError({"group": [f"No group named {name!r}."]})
    return group


_RESOLVERS = {"service_account": _service_account, "user": _user, "group": _group}


class RoleBindingCreateSerializer(StrictInputSerializer):
    """Exactly one of service_account / user / group, resolved to its object under the same key."""

    service_account = serializers.CharField(required=False, help_text="The service account's client_id.")
    user = serializers.CharField(required=False, help_text="The person's email.")
    group = serializers.CharField(required=False, help_text="The group's name.")
    vault = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Built-in roles only: limit the binding to this vault.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        named = [kind for kind in _RESOLVERS if attrs.get(kind)]
        if len(named) != 1:
            raise serializers.ValidationError(SUBJECT_HELP)
        kind = named[0]
        attrs[kind] = _RESOLVERS[kind](attrs[kind])
        return attrs


# --- output -------------------------------------------------------------------------------------


class RoleSerializer(serializers.ModelSerializer):
    policies = serializers.SerializerMethodField(help_text="The ids of the policies the role carries, sorted.")

    class Meta:
        model = Role
        fields = ["id", "name", "description", "builtin", "policies", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_policies(self, role: Role) -> list[str]:
        # .all() so that a list view's prefetch_related("policies") serves every role at once.
        return sorted(str(p.pk) for p in role.policies.all())


class RoleBindingSerializer(serializers.ModelSerializer):
    role = serializers.UUIDField(source="role_id", read_only=True)
    subject_type = serializers.SerializerMethodField(help_text="service_account, user or group.")
    subject = serializers.SerializerMethodField(help_text="The client_id, email or group name.")
    vault = serializers.UUIDField(source="vault_id", read_only=True, allow_null=True)

    class Meta:
        model = RoleBinding
        fields = ["id", "role", "subject_type", "subject", "vault", "expires_at", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["service_account", "user", "group"]))
    def get_subject_type(self, binding: RoleBinding) -> str:
        return binding.subject[0]

    @extend_schema_field(serializers.CharField())
    def get_subject(self, binding: RoleBinding) -> str:
        return binding.subject[1]


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    id = serializers.UUIDField()
