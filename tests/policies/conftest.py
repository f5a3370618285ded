"""Shared pieces of the policy tests: the golden schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.language import SchemaInfo

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def schema() -> SchemaInfo:
    return SchemaInfo.from_dict(json.loads((GOLDEN / "schema.json").read_text()))
