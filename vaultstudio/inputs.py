"""Identifiers and names as callers send them: the two checks every service and selector shares."""

from __future__ import annotations

import uuid
from typing import Any

from .errors import BadRequest


def parse_uuid(value: Any) -> str | None:
    """The canonical text of a UUID, or None when ``value`` is not one (a lookup then finds nothing)."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        return None


def clean_name(value: Any, *, max_length: int) -> str:
    """A stripped, non-empty name of at most ``max_length`` characters; a 400 saying so otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_length:
        raise BadRequest(f"name must be a non-empty string of at most {max_length} characters.")
    return value.strip()
