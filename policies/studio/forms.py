"""Forms of the policy, simulator and role pages: they parse what a person typed; the services decide."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import QuerySet

from accounts.models import Group, ServiceAccount, User
from policies.api.simulate import ACTIONS, LEVELS
from policies.models import Policy
from vaults.models import Table, Vault
from vaultstudio.inputs import parse_uuid


class PolicyForm(forms.Form):
    vault = forms.ModelChoiceField(queryset=Vault.objects.none(), empty_label=None)
    name = forms.CharField(max_length=128)
    status = forms.ChoiceField(
        choices=Policy.STATUSES,
        initial=Policy.ACTIVE,
        help_text="Only ACTIVE policies are enforced; INACTIVE keeps the text without effect.",
    )
    source = forms.CharField(
        label="Policy",
        widget=forms.Textarea(
            attrs={"rows": 14, "spellcheck": "false", "autocomplete": "off", "autocapitalize": "off", "wrap": "off"}
        ),
        help_text="One statement per line; # or -- starts a comment.",
    )

    def __init__(self, *args: Any, vaults: QuerySet[Vault], editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vault_field: Any = self.fields["vault"]
        vault_field.queryset = vaults
        if editing:
            # A policy stays in its vault: it was compiled against that vault's schema.
            vault_field.disabled = True
        # An empty text is a valid policy (it grants nothing), as the API accepts it.
        self.fields["source"].required = False
        self.fields["source"].strip = False  # type: ignore[attr-defined]

    def policy_fields(self) -> dict[str, Any]:
        """The cleaned fields that ``policy_create`` and ``policy_update`` both take."""
        return {key: self.cleaned_data[key] for key in ("name", "source", "status")}


class PolicyDiffForm(forms.Form):
    a = forms.IntegerField(min_value=0, label="From version")
    b = forms.IntegerField(min_value=1, label="To version")


class RollbackForm(forms.Form):
    version = forms.IntegerField(min_value=1)


def principal_choices() -> list[tuple[str, Any]]:
    """``user:<id>`` and ``sa:<id>`` choices, people and service accounts grouped."""
    people = [(f"user:{u.pk}", f"{u.email}{' (inactive)' if not u.is_active else ''}") for u in User.objects.all()]
    accounts = [(f"sa:{a.pk}", f"{a.name} ({a.client_id})") for a in ServiceAccount.objects.all()]
    return [("People", people), ("Service accounts", accounts)]


def resolve_principal(value: str) -> User | ServiceAccount | None:
    kind, _, raw = value.partition(":")
    pk = parse_uuid(raw)
    if pk is None:
        return None
    if kind == "user":
        return User.objects.filter(pk=pk).first()
    if kind == "sa":
        return ServiceAccount.objects.filter(pk=pk).first()
    return None


class SimulateForm(forms.Form):
    principal = forms.ChoiceField(label="As")
    target = forms.ChoiceField(label="Table")
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], initial="READ")
    columns = forms.CharField(
        required=False, help_text="Comma-separated; empty means every column.", widget=forms.TextInput()
    )
    redaction = forms.ChoiceField(
        choices=[(level, level) for level in LEVELS],
        initial="DEFAULT",
        help_text="The level the request asks for (it caps the grant).",
    )
    context = forms.CharField(
        label="What-if context (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": '{"agent_id": "a-17"}'}),
        help_text="request.context.* for this question; empty uses the principal's own.",
    )

    def __init__(self, *args: Any, vaults: QuerySet[Vault], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        principal_field: Any = self.fields["principal"]
        principal_field.choices = principal_choices()
        tables = Table.objects.filter(vault__in=vaults).select_related("vault").order_by("vault__name", "name")
        target_field: Any = self.fields["target"]
        target_field.choices = [(f"{t.vault_id}:{t.name}", f"{t.vault.name} / {t.name}") for t in tables]

    def clean_columns(self) -> list[str] | None:
        names = [c.strip() for c in self.cleaned_data["columns"].split(",") if c.strip()]
        return names or None

    def clean_context(self) -> dict[str, Any] | None:
        text = self.cleaned_data["context"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError('The context is a JSON object, e.g. {"agent_id": "a-17"}.')
        return value

    def clean_principal(self) -> User | ServiceAccount:
        found = resolve_principal(self.cleaned_data["principal"])
        if found is None:
            raise forms.ValidationError("No such person or service account.")
        return found

    def clean_target(self) -> tuple[str, str]:
        vault_id, _, table = self.cleaned_data["target"].partition(":")
        return vault_id, table


class RoleForm(forms.Form):
    name = forms.CharField(max_length=128)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    policies = forms.ModelMultipleChoiceField(
        queryset=Policy.objects.select_related("vault").order_by("vault__name", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the role lets its holders do with data (of any vault).",
    )

    def __init__(self, *args: Any, builtin: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policies"].label_from_instance = (  # type: ignore[attr-defined]
            lambda p: f"{p.vault.name} / {p.name}{' (inactive)' if p.status != Policy.ACTIVE else ''}"
        )
        if builtin:
            for name in ("name", "policies"):
                self.fields[name].disabled = True


def subject_choices() -> list[tuple[str, Any]]:
    people = [(f"user:{u.pk}", u.email) for u in User.objects.filter(is_active=True)]
    groups = [(f"group:{g.pk}", g.name) for g in Group.objects.all()]
    accounts = [(f"sa:{a.pk}", f"{a.name} ({a.client_id})") for a in ServiceAccount.objects.filter(is_active=True)]
    return [("", "Choose…"), ("People", people), ("Groups", groups), ("Service accounts", accounts)]


class BindingForm(forms.Form):
    subject = forms.ChoiceField(label="Bind to")
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional: the binding stops granting anything after this time.",
    )
    vault = forms.ModelChoiceField(
        queryset=Vault.objects.all(),
        required=False,
        empty_label="Every vault",
        help_text="VAULT_OWNER only: limit the binding to one vault.",
    )

    def __init__(self, *args: Any, scoped: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        subject_field: Any = self.fields["subject"]
        subject_field.choices = subject_choices()
        if not scoped:
            del self.fields["vault"]

    def clean_subject(self) -> dict[str, Any]:
        kind, _, raw = self.cleaned_data["subject"].partition(":")
        model = {"user": User, "group": Group, "sa": ServiceAccount}.get(kind)
        pk = parse_uuid(raw)
        found = model.objects.filter(pk=pk).first() if model is not None and pk else None  # type: ignore[attr-defined]
        if found is None:
            raise forms.ValidationError("Choose a person, a group or a service account.")
        return {{"sa": "service_account"}.get(kind, kind): found}
