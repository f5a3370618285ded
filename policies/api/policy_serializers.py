"""Management API payloads for policies, their versions, validation and diffs (DESIGN.md §15).

Policy text is taken exactly as sent: stripping leading blank lines would move every error's line.
"""

from __future__ import annotations

from rest_framework import serializers

from policies.models import Policy, PolicyVersion
from vaultstudio.api import StrictInputSerializer

_SOURCE_HELP = "The policy text (DESIGN.md §5), one statement per line."
_STATUS_HELP = "ACTIVE policies are enforced; INACTIVE ones are kept but grant nothing."


class PolicyCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=128)
    vault = serializers.UUIDField(help_text="The vault whose schema the policy is written against.")
    source = serializers.CharField(trim_whitespace=False, help_text=_SOURCE_HELP)
    status = serializers.ChoiceField(
        choices=[Policy.ACTIVE, Policy.INACTIVE], default=Policy.ACTIVE, help_text=_STATUS_HELP
    )


class PolicyUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=128, required=False)
    source = serializers.CharField(trim_whitespace=False, required=False, help_text=_SOURCE_HELP)
    status = serializers.ChoiceField(choices=[Policy.ACTIVE, Policy.INACTIVE], required=False, help_text=_STATUS_HELP)


class PolicyValidateSerializer(StrictInputSerializer):
    vault = serializers.UUIDField(help_text="The vault whose schema to check the text against.")
    source = serializers.CharField(trim_whitespace=False, allow_blank=True, help_text=_SOURCE_HELP)


class PolicyErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="1-based line of the problem.")
    column = serializers.IntegerField(help_text="1-based column of the problem.")
    message = serializers.CharField(help_text="What is wrong, and what to do.")


class PolicyValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    details = PolicyErrorSerializer(many=True, help_text="Every error, in text order; empty when valid.")


# --- output -------------------------------------------------------------------------------------


class PolicySerializer(serializers.ModelSerializer):
    vault = serializers.UUIDField(source="vault_id", read_only=True)

    class Meta:
        model = Policy
        fields = ["id", "name", "vault", "source", "status", "version", "created_at", "updated_at", "updated_by"]
        read_only_fields = fields


class PolicyVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyVersion
        fields = ["version", "name", "status", "source", "created_at", "created_by"]
        read_only_fields = fields


class PolicyDiffSerializer(serializers.Serializer):
    policy = serializers.UUIDField()
    version = serializers.IntegerField()
    against = serializers.IntegerField(help_text="The version compared with; 0 means the empty text.")
    diff = serializers.CharField(help_text="A unified diff from `against` to `version`; empty when equal.")
