"""Forms of the vault pages. They only parse what a person typed: the schema's rules live in
``vaults.schema.parse_schema`` (the one door), whose errors are put back on the fields here."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms

from vaults.masking import PRESETS
from vaults.models import DATA_TYPES, REDACTION_LEVELS, TOKENIZATION_KINDS
from vaults.schema import MAX_REGEXES


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


class VaultForm(forms.Form):
    name = forms.CharField(max_length=128, help_text="Unique; apps name the vault by its id, people by this.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class TableForm(forms.Form):
    name = forms.CharField(
        max_length=63, help_text="A lowercase identifier (a-z, 0-9, _), as in policies: persons.ssn."
    )


MASKING_PRESET, MASKING_REGEX = "preset", "regex"


class ColumnForm(forms.Form):
    """Every column option of DESIGN.md §7; ``column_document`` turns it into the schema document's form."""

    name = forms.CharField(max_length=63, help_text="A lowercase identifier (a-z, 0-9, _).")
    data_type = forms.ChoiceField(choices=_choices(DATA_TYPES), initial="string")
    required = forms.BooleanField(required=False, help_text="Every record must have a value.")
    unique = forms.BooleanField(
        required=False, help_text="No two records share a value (an encrypted column also needs searchable)."
    )
    encrypted = forms.BooleanField(required=False, initial=True, help_text="AES-256-GCM at rest (recommended).")
    searchable = forms.BooleanField(
        required=False, help_text="Keep a blind index, so records can be looked up by an equal value."
    )
    validation = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=f"Regular expressions a value must match, one per line (at most {MAX_REGEXES}).",
    )
    tokenization = forms.ChoiceField(choices=_choices(TOKENIZATION_KINDS), initial="NONE")
    token_ttl_minutes = forms.IntegerField(
        label="Token lifetime (minutes)",
        required=False,
        min_value=1,
        help_text="Only for TRANSIENT tokens: the minutes a token lives.",
    )
    default_redaction = forms.ChoiceField(
        choices=_choices(REDACTION_LEVELS),
        initial="REDACTED",
        help_text="The level a reader gets when the policy or the request says DEFAULT.",
    )
    masking_kind = forms.ChoiceField(
        label="Masking",
        choices=[(MASKING_PRESET, "A preset"), (MASKING_REGEX, "A find / replace regex")],
        initial=MASKING_PRESET,
        widget=forms.RadioSelect,
    )
    masking_preset = forms.ChoiceField(label="Masking preset", choices=_choices(PRESETS), initial="full")
    masking_find = forms.CharField(
        label="Find (regex)", required=False, widget=forms.TextInput(attrs={"spellcheck": "false"})
    )
    masking_replace = forms.CharField(
        label="Replace with",
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
        help_text="Refer to the find's groups as ${1}, ${2}…",
    )
    column_group = forms.CharField(
        required=False, max_length=63, help_text="The tokenize endpoint's name for this column's values (optional)."
    )

    def column_document(self) -> dict[str, Any]:
        """The column as the schema document has it (DESIGN.md §15)."""
        data = self.cleaned_data
        if data["masking_kind"] == MASKING_REGEX:
            masking = {"find": data["masking_find"], "replace": data["masking_replace"]}
        else:
            masking = {"preset": data["masking_preset"]}
        return {
            "name": data["name"].strip(),
            "data_type": data["data_type"],
            "required": data["required"],
            "unique": data["unique"],
            "validation": [line.strip() for line in data["validation"].splitlines() if line.strip()],
            "encrypted": data["encrypted"],
            "searchable": data["searchable"],
            "tokenization": data["tokenization"],
            "token_ttl_minutes": data["token_ttl_minutes"],
            "default_redaction": data["default_redaction"],
            "masking": masking,
            "column_group": data["column_group"].strip() or None,
        }

    @classmethod
    def initial_of(cls, document: dict[str, Any]) -> dict[str, Any]:
        """Initial field values from a column of the schema document."""
        masking = document.get("masking") or {"preset": "full"}
        regex = "find" in masking
        return {
            **{k: v for k, v in document.items() if k not in ("masking", "validation", "column_group")},
            "validation": "\n".join(document.get("validation") or ()),
            "column_group": document.get("column_group") or "",
            "masking_kind": MASKING_REGEX if regex else MASKING_PRESET,
            "masking_preset": masking.get("preset", "full"),
            "masking_find": masking.get("find", ""),
            "masking_replace": masking.get("replace", ""),
        }


# A schema error's path below its column (``masking.find``, ``validation[1]``) → the form field.
_OPTION_FIELDS = {
    "masking": "masking_preset",
    "masking.preset": "masking_preset",
    "masking.find": "masking_find",
    "masking.replace": "masking_replace",
}
_INDEX = re.compile(r"\[\d+\]$")


def attach_schema_errors(form: forms.Form, details: list[dict[str, str]], prefix: str) -> None:
    """Put each schema error whose path starts with ``prefix`` (``tables[0].columns[2]``) on its
    field; every other error (another column, a stored-data conflict) on the form as a whole."""
    for detail in details:
        path, message = detail.get("field", ""), detail.get("message", "")
        message = message[:1].upper() + message[1:]
        option = path[len(prefix) + 1 :] if path.startswith(prefix + ".") else None
        if option is not None:
            option = _INDEX.sub("", option)
            field = _OPTION_FIELDS.get(option, option)
            if field in form.fields:
                form.add_error(field, message)
                continue
        form.add_error(None, f"{path}: {message}" if path and path != prefix else message)


class SchemaDocumentForm(forms.Form):
    """The whole schema as its JSON document (DESIGN.md §15), for people who keep it in git."""

    document = forms.CharField(widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}))
    confirm_drop = forms.BooleanField(
        required=False,
        label="Drop tables and columns that hold data",
        help_text="Without this, a change that would drop stored values is refused.",
    )

    def clean_document(self) -> Any:
        try:
            return json.loads(self.cleaned_data["document"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc


class DropForm(forms.Form):
    confirm_drop = forms.BooleanField(
        required=False,
        label="Yes, delete the stored values too",
        help_text="Needed when there is data: the values are gone for good.",
    )


PAGE_SIZES = (25, 50, 100)


class RecordsPageForm(forms.Form):
    offset = forms.IntegerField(required=False, min_value=0, max_value=10_000_000)
    limit = forms.TypedChoiceField(required=False, choices=[(n, n) for n in PAGE_SIZES], coerce=int)

    def page(self) -> tuple[int, int]:
        if not self.is_valid():
            return 0, PAGE_SIZES[0]
        return self.cleaned_data["offset"] or 0, self.cleaned_data["limit"] or PAGE_SIZES[0]


class RevealForm(forms.Form):
    column = forms.CharField(max_length=63)
    offset = forms.IntegerField(required=False, min_value=0, max_value=10_000_000)
    limit = forms.TypedChoiceField(required=False, choices=[(n, n) for n in PAGE_SIZES], coerce=int)


MAX_DETOKENIZE = 25


class DetokenizeForm(forms.Form):
    tokens = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text=f"One token per line (at most {MAX_DETOKENIZE}).",
    )

    def clean_tokens(self) -> list[str]:
        tokens = list(dict.fromkeys(t.strip() for t in self.cleaned_data["tokens"].splitlines() if t.strip()))
        if not tokens:
            raise forms.ValidationError("Paste at least one token.")
        if len(tokens) > MAX_DETOKENIZE:
            raise forms.ValidationError(f"At most {MAX_DETOKENIZE} tokens at a time; got {len(tokens)}.")
        if any(len(t) > 128 for t in tokens):
            raise forms.ValidationError("A token is at most 128 characters.")
        return tokens
