"""Schema-time rules for a column's ``tokenization`` and ``token_ttl_minutes`` (DESIGN.md §7, §15)."""

from __future__ import annotations

NONE = "NONE"
UUID = "UUID"
DETERMINISTIC_UUID = "DETERMINISTIC_UUID"
FORMAT_PRESERVING = "FORMAT_PRESERVING"
TRANSIENT = "TRANSIENT"
TOKENIZATION_KINDS: tuple[str, ...] = (NONE, UUID, DETERMINISTIC_UUID, FORMAT_PRESERVING, TRANSIENT)

# A transient token is for a hand-off (a payment, a support call), not storage: 30 days at most.
MAX_TOKEN_TTL_MINUTES = 30 * 24 * 60

# Format-preserving tokens replace letters and digits in a string; the other types have a shape
# that a random token of the same characters would break (a date, a number, a boolean, JSON).
FORMAT_PRESERVING_DATA_TYPES: frozenset[str] = frozenset({"string", "email", "phone", "ssn", "card_number"})


def validate_tokenization(kind: object, *, token_ttl_minutes: object = None, data_type: str | None = None) -> list[str]:
    """Every problem with a column's tokenization options, written for the schema's author.

    ``token_ttl_minutes`` is required and positive (at most ``MAX_TOKEN_TTL_MINUTES``) for
    ``TRANSIENT`` and must be absent (null) for every other kind; ``FORMAT_PRESERVING`` takes only
    the data types of ``FORMAT_PRESERVING_DATA_TYPES``.
    """
    if not isinstance(kind, str) or kind not in TOKENIZATION_KINDS:
        return [f"tokenization: unknown kind {kind!r}; use one of {', '.join(TOKENIZATION_KINDS)}"]
    errors: list[str] = []
    if kind == TRANSIENT:
        if token_ttl_minutes is None:
            errors.append("token_ttl_minutes: required for TRANSIENT tokenization (the minutes a token lives)")
        elif isinstance(token_ttl_minutes, bool) or not isinstance(token_ttl_minutes, int):
            errors.append(f"token_ttl_minutes: must be a whole number of minutes, not {token_ttl_minutes!r}")
        elif not 0 < token_ttl_minutes <= MAX_TOKEN_TTL_MINUTES:
            errors.append(
                f"token_ttl_minutes: {token_ttl_minutes} is out of range; use 1 to {MAX_TOKEN_TTL_MINUTES} (30 days)"
            )
    elif token_ttl_minutes is not None:
        errors.append(f"token_ttl_minutes: only TRANSIENT tokens expire; leave it null for {kind}")
    if kind == FORMAT_PRESERVING and data_type is not None and data_type not in FORMAT_PRESERVING_DATA_TYPES:
        allowed = ", ".join(sorted(FORMAT_PRESERVING_DATA_TYPES))
        errors.append(
            f"tokenization: FORMAT_PRESERVING does not apply to data type '{data_type}'; it takes {allowed} "
            "(use UUID or DETERMINISTIC_UUID for the others)"
        )
    return errors
