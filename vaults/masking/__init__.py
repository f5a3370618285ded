"""Masking: the presets and regex masks of DESIGN.md §7, and the typed output serializer (§16).

Pure functions, no Django: ``validate_masking`` at schema-save time, ``compile_masking`` once per
column, and ``make_row_renderer`` once per column plan, so a row costs one call.
"""

from vaults.masking.output import (
    LEVELS,
    MASKED,
    NULL_VALUE_TYPE,
    PLAIN_TEXT,
    REDACTED,
    REDACTED_VALUE,
    TOKEN,
    VALUE_TYPES,
    ColumnPlan,
    RowRenderer,
    detokenize_value,
    make_row_renderer,
    plain_json,
    plain_text,
    render_value,
    value_type,
)
from vaults.masking.presets import FULL_MASK, MASK_CHAR, PRESET_DATA_TYPES, PRESETS, masking_text
from vaults.masking.regex import MAX_BACKTRACK_PATHS, MAX_INPUT_LENGTH, MAX_PATTERN_LENGTH, MAX_TEMPLATE_LENGTH
from vaults.masking.spec import DATA_TYPES, DEFAULT_MASKING, Masker, MaskingSpecError, compile_masking, validate_masking

__all__ = [
    "DATA_TYPES",
    "DEFAULT_MASKING",
    "FULL_MASK",
    "LEVELS",
    "MASKED",
    "MASK_CHAR",
    "MAX_INPUT_LENGTH",
    "MAX_PATTERN_LENGTH",
    "MAX_TEMPLATE_LENGTH",
    "MAX_BACKTRACK_PATHS",
    "NULL_VALUE_TYPE",
    "PLAIN_TEXT",
    "PRESETS",
    "PRESET_DATA_TYPES",
    "REDACTED",
    "REDACTED_VALUE",
    "TOKEN",
    "VALUE_TYPES",
    "ColumnPlan",
    "Masker",
    "MaskingSpecError",
    "RowRenderer",
    "compile_masking",
    "detokenize_value",
    "make_row_renderer",
    "masking_text",
    "plain_json",
    "plain_text",
    "render_value",
    "validate_masking",
    "value_type",
]
