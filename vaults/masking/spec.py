"""A column's ``masking`` spec: validation at schema-save time and compilation to a ``Masker``.

A spec is ``{"preset": name}`` (see ``vaults.masking.presets``), ``{"find": regex, "replace":
template}`` (see ``vaults.masking.regex``), or ``None`` for the default, ``full``. Compile once per
column (``compile_masking``) so the per-row work is a single call of the returned ``Masker``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

from vaults.masking.presets import PRESET_DATA_TYPES, PRESETS, masking_text, preset_masker
from vaults.masking.regex import regex_masker, validate_regex_masking

DATA_TYPES: tuple[str, ...] = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "email",
    "phone",
    "ssn",
    "card_number",
    "json",
)

DEFAULT_MASKING: dict[str, str] = {"preset": "full"}

Masker = Callable[[object], str]
"""A compiled mask: any stored value (str, int, date, JSON…) → its masked text."""


class MaskingSpecError(ValueError):
    """A masking spec that ``validate_masking`` rejects; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def validate_masking(spec: object, *, data_type: str | None = None) -> list[str]:
    """Every problem with a masking spec (empty when it is valid), written for the schema's author.

    With ``data_type``, also checks that a preset suits the column (``year`` on a date, not a
    boolean): a preset outside ``PRESET_DATA_TYPES`` would reveal the value or never apply.
    """
    if spec is None:
        return []
    if not isinstance(spec, Mapping):
        return ['masking: must be an object, {"preset": name} or {"find": regex, "replace": template}']
    errors = [
        f"masking: unknown key '{key}'; use 'preset', or 'find' and 'replace'"
        for key in spec
        if key not in ("preset", "find", "replace")
    ]
    if "preset" in spec:
        if "find" in spec or "replace" in spec:
            return [*errors, "masking: give either 'preset' or 'find' and 'replace', not both"]
        return errors + _validate_preset(spec["preset"], data_type)
    if "find" not in spec or "replace" not in spec:
        return [*errors, "masking: needs 'preset', or both 'find' and 'replace'"]
    return errors + validate_regex_masking(spec["find"], spec["replace"])


def _validate_preset(preset: object, data_type: str | None) -> list[str]:
    if not isinstance(preset, str) or preset not in PRESETS:
        return [f"masking.preset: unknown preset {preset!r}; use one of {', '.join(PRESETS)}"]
    if data_type is None:
        return []
    if data_type not in DATA_TYPES:
        return [f"masking: unknown data type {data_type!r}; use one of {', '.join(DATA_TYPES)}"]
    allowed = PRESET_DATA_TYPES[preset]
    if data_type not in allowed:
        fitting = ", ".join(p for p in PRESETS if data_type in PRESET_DATA_TYPES[p])
        return [
            f"masking.preset: '{preset}' does not apply to data type '{data_type}'; "
            f"for '{data_type}' use one of {fitting}, or a find/replace regex"
        ]
    return []


def compile_masking(spec: object, data_type: str = "string") -> Masker:
    """The ``Masker`` of a column; raises ``MaskingSpecError`` for a spec that does not validate."""
    errors = validate_masking(spec, data_type=data_type)
    if errors:
        raise MaskingSpecError(errors)
    # validate_masking accepted it, so it is None or a Mapping of the right shape.
    checked: Mapping[str, object] = DEFAULT_MASKING if spec is None else cast("Mapping[str, object]", spec)
    preset = checked.get("preset")
    if isinstance(preset, str):
        mask_text = preset_masker(preset, data_type)
    else:
        mask_text = regex_masker(str(checked["find"]), str(checked["replace"]))

    def masker(value: object) -> str:
        # An ASCII str is already in masking form; everything else goes through masking_text.
        if type(value) is str and value.isascii():
            return mask_text(value)
        return mask_text(masking_text(value))

    return masker
