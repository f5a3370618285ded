"""Roles and role bindings (DESIGN.md §4).

Built-in roles grant management rights only (ACCOUNT_ADMIN, VAULT_OWNER, AUDITOR); data rights come
only from custom roles that carry policies.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

ACCOUNT_ADMIN = "ACCOUNT_ADMIN"
VAULT_OWNER = "VAULT_OWNER"
AUDITOR = "AUDITOR"
BUILTIN_ROLES = {
    ACCOUNT_ADMIN: "Users, groups, service accounts, roles and bindings, SSO and SCIM settings.",
    VAULT_OWNER: "Vault schemas, policies and keys (of the bound vault, or of all vaults).",
    AUDITOR: "Reads and exports the audit log and verifies its chain.",
}


class Policy(models.Model):
    """Policy text for one vault, compiled at save time against the vault's schema.

    Every change keeps the previous text as a PolicyVersion, for diff and rollback.
    """

    ACTIVE, INACTIVE = "ACTIVE", "INACTIVE"
    STATUSES = [(ACTIVE, ACTIVE), (INACTIVE, INACTIVE)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=128)
    vault = models.ForeignKey("vaults.Vault", on_delete=models.CASCADE, related_name="policies")
    source = models.TextField()
    compiled = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=STATUSES, default=ACTIVE)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["vault", "name"]
        constraints = [models.UniqueConstraint(fields=["vault", "name"], name="policy_unique_name_in_vault")]

    def __str__(self) -> str:
        return self.name


class PolicyVersion(models.Model):
    """One past (or the current) version of a policy, as it was saved."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=128)
    source = models.TextField()
    compiled = models.JSONField(default=dict)
    status = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [models.UniqueConstraint(fields=["policy", "version"], name="policyversion_unique")]


class Role(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=128, unique=True)
    description = models.TextField(blank=True)
    builtin = models.BooleanField(default=False)
    policies = models.ManyToManyField(Policy, related_name="roles", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoleBinding(models.Model):
    """A role granted to exactly one user, group or service account, optionally until ``expires_at``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="bindings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="role_bindings"
    )
    group = models.ForeignKey(
        "accounts.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="role_bindings"
    )
    service_account = models.ForeignKey(
        "accounts.ServiceAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="role_bindings"
    )
    # Scopes a built-in role (VAULT_OWNER) to one vault; becomes a foreign key with the vaults app.
    vault_id = models.UUIDField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                name="rolebinding_exactly_one_subject",
                condition=(
                    Q(user__isnull=False, group__isnull=True, service_account__isnull=True)
                    | Q(user__isnull=True, group__isnull=False, service_account__isnull=True)
                    | Q(user__isnull=True, group__isnull=True, service_account__isnull=False)
                ),
            ),
        ]

    @property
    def subject(self) -> tuple[str, str]:
        if self.user_id:
            return "user", str(self.user.email)
        if self.group_id:
            return "group", str(self.group.name)
        return "service_account", str(self.service_account.client_id)
