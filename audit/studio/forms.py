"""The audit viewer's filter form: what an auditor types, turned into the selectors' ``EventFilter``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms

from audit.selectors import EventFilter


class EventFilterForm(forms.Form):
    actor = forms.CharField(
        required=False, label="Actor", widget=forms.TextInput(attrs={"placeholder": "email, name or id"})
    )
    action = forms.CharField(
        required=False,
        label="Action",
        widget=forms.TextInput(attrs={"placeholder": "e.g. auth.*", "list": "audit-actions"}),
    )
    vault = forms.ChoiceField(required=False, label="Vault")
    decision = forms.ChoiceField(
        required=False, label="Decision", choices=[("", "Any"), ("ALLOW", "Allowed"), ("DENY", "Denied")]
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive (UTC)."
    )

    def __init__(self, *args: Any, vaults: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vault"].choices = [("", "Any vault"), *(vaults or [])]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return data

    def event_filter(self) -> EventFilter:
        """The filter of a valid form (an invalid one filters nothing: the page shows its errors)."""
        if not self.is_valid():
            return EventFilter()
        data = self.cleaned_data
        since = datetime.combine(data["since"], time.min, tzinfo=UTC) if data.get("since") else None
        until = datetime.combine(data["until"], time.min, tzinfo=UTC) + timedelta(days=1) if data.get("until") else None
        return EventFilter(
            actor=data.get("actor", "").strip(),
            action=data.get("action", "").strip(),
            vault=data.get("vault", ""),
            decision=data.get("decision", ""),
            since=since,
            until=until,
        )
