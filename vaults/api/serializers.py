"""Management API payloads for vaults and their schema (DESIGN.md §15)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from vaults.models import Vault
from vaults.selectors import vault_schema
from vaultstudio.api import StrictInputSerializer


class VaultCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=128)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    schema = serializers.JSONField(required=False, help_text='The schema document, {"tables": [...]}.')


class VaultUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=128, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    rotation_period_days = serializers.IntegerField(required=False, min_value=1, max_value=3650)


class SchemaDocumentSerializer(serializers.Serializer):
    """For the OpenAPI document: the schema as one JSON object, kept in git by its owners."""

    tables = serializers.ListField(child=serializers.JSONField())


class VaultSerializer(serializers.ModelSerializer):
    schema = serializers.SerializerMethodField()

    class Meta:
        model = Vault
        fields = ["id", "name", "description", "rotation_period_days", "created_at", "updated_at", "schema"]
        read_only_fields = fields

    def get_schema(self, vault: Vault) -> dict[str, Any]:
        return vault_schema(vault).as_document()


class SchemaUpdateResultSerializer(serializers.Serializer):
    schema = SchemaDocumentSerializer()
    changes = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
