"""Management API payloads for service accounts, their keys, people and groups (DESIGN.md §15).

Input serializers only parse and check the shape of a request; the rules (CIDRs, TTL bounds, the
two-key limit, key formats) live in ``accounts.services`` so the studio, the API and
``manage.py`` enforce the same ones. Output serializers shape models into the contract's names.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.keys import ALGORITHMS, ES256, RS256
from accounts.models import Group, ServiceAccount, ServiceAccountKey, User
from vaultstudio.api import StrictInputSerializer

# --- input --------------------------------------------------------------------------------------


class ServiceAccountCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    ip_allowlist = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="CIDRs (or single addresses) allowed to use this account; empty means any address.",
    )
    token_ttl_seconds = serializers.IntegerField(
        required=False,
        help_text="Lifetime of the access tokens it gets, 60 to 3600 seconds (default 900).",
    )


class ServiceAccountUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    ip_allowlist = serializers.ListField(child=serializers.CharField(), required=False)
    token_ttl_seconds = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)


KEY_REQUEST_HELP = (
    'Send {"generate": true} (optionally with "algorithm": "RS256" or "ES256") to have a key pair generated, '
    'or {"public_key": "<PEM>", "algorithm": "RS256" or "ES256"} to register your own public key; '
    '"expires_at" is optional in both.'
)


class ServiceAccountKeyCreateSerializer(StrictInputSerializer):
    """Either ``generate`` or ``public_key`` (with its ``algorithm``); ``validate`` says which is missing."""

    generate = serializers.BooleanField(required=False)
    public_key = serializers.CharField(required=False, trim_whitespace=False, help_text="PEM public key.")
    algorithm = serializers.ChoiceField(choices=ALGORITHMS, required=False)
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Default: 365 days from now.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        generate = attrs.get("generate") is True
        public_key = attrs.get("public_key")
        if generate and public_key:
            raise serializers.ValidationError(f"Send generate or public_key, not both. {KEY_REQUEST_HELP}")
        if generate:
            attrs.setdefault("algorithm", RS256)
        elif public_key:
            if "algorithm" not in attrs:
                raise serializers.ValidationError(
                    {"algorithm": [f"Say which algorithm the public key is for: {RS256} or {ES256}."]}
                )
        else:
            raise serializers.ValidationError(KEY_REQUEST_HELP)
        attrs["generate"] = generate
        return attrs


# These two describe the alternatives of ServiceAccountKeyCreateSerializer in the OpenAPI document.
class ServiceAccountKeyGenerateRequestSerializer(serializers.Serializer):
    generate = serializers.BooleanField(
        help_text="true: VaultStudio generates the pair and returns the private key once."
    )
    algorithm = serializers.ChoiceField(choices=ALGORITHMS, required=False, default=RS256)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ServiceAccountKeyRegisterRequestSerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="PEM (SubjectPublicKeyInfo); never a private key.")
    algorithm = serializers.ChoiceField(choices=ALGORITHMS)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


# --- output -------------------------------------------------------------------------------------


class ServiceAccountKeySerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField(help_text="Not revoked and not expired: it can sign assertions now.")

    class Meta:
        model = ServiceAccountKey
        fields = [
            "key_id",
            "algorithm",
            "fingerprint",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "active",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_active(self, key: ServiceAccountKey) -> bool:
        return key.is_usable()


class ServiceAccountSerializer(serializers.ModelSerializer):
    # ``keys.all()`` reads the prefetch cache on list endpoints, so a page costs one query for keys.
    keys = ServiceAccountKeySerializer(many=True, read_only=True, source="keys.all")

    class Meta:
        model = ServiceAccount
        fields = [
            "id",
            "client_id",
            "name",
            "description",
            "is_active",
            "ip_allowlist",
            "token_ttl_seconds",
            "created_at",
            "keys",
        ]
        read_only_fields = fields


class CredentialsSerializer(serializers.Serializer):
    """credentials.json: what an application (or a Skyflow SDK) needs to get tokens."""

    # camelCase: these names are the credentials.json contract that Skyflow's SDKs read.
    clientID = serializers.UUIDField()
    clientName = serializers.CharField()
    keyID = serializers.UUIDField()
    tokenURI = serializers.URLField()
    privateKey = serializers.CharField(help_text="PEM (PKCS#8). Shown this once; VaultStudio does not keep it.")


class UserSerializer(serializers.ModelSerializer):
    # An explicit list: the password hash and the IdP attributes never leave through this API.
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "source",
            "external_id",
            "is_active",
            "last_login",
            "date_joined",
            "deactivated_at",
        ]
        read_only_fields = fields


class GroupSerializer(serializers.ModelSerializer):
    members = serializers.SlugRelatedField(many=True, read_only=True, slug_field="email")

    class Meta:
        model = Group
        fields = ["id", "name", "external_id", "members"]
        read_only_fields = fields
