"""A pure description of a vault's schema, as much of it as the policy compiler and engine need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DATA_TYPES = frozenset(
    {"string", "integer", "number", "boolean", "date", "datetime", "email", "phone", "ssn", "card_number", "json"}
)
# Types whose values are text: LIKE works on them, and their literals are quoted.
TEXT_TYPES = frozenset({"string", "email", "phone", "ssn", "card_number"})

PLAIN_TEXT = "PLAIN_TEXT"
MASKED = "MASKED"
REDACTED = "REDACTED"
DEFAULT = "DEFAULT"
# Most revealing first: the engine picks the first level a row qualifies for.
REVEAL_ORDER = (PLAIN_TEXT, MASKED, REDACTED)
LEVELS = frozenset({PLAIN_TEXT, MASKED, REDACTED, DEFAULT})


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column: its type, whether it is encrypted, whether it has a blind index, its default level."""

    name: str
    data_type: str = "string"
    encrypted: bool = True
    searchable: bool = False
    default_redaction: str = REDACTED

    def __post_init__(self) -> None:
        if self.data_type not in DATA_TYPES:
            raise ValueError(f"Column {self.name!r}: unknown data type {self.data_type!r}.")
        if self.default_redaction not in REVEAL_ORDER:
            raise ValueError(
                f"Column {self.name!r}: default_redaction must be one of {', '.join(REVEAL_ORDER)}, "
                f"not {self.default_redaction!r}."
            )


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A table's columns by name, in schema order."""

    columns: Mapping[str, ColumnInfo]


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    """A vault's tables by name."""

    tables: Mapping[str, TableInfo]

    @classmethod
    def from_dict(cls, tables: Mapping[str, Mapping[str, Mapping[str, object]]]) -> SchemaInfo:
        """Build from ``{table: {column: {"data_type": …, "encrypted": …, …}}}`` (tests, fixtures, the API)."""
        return cls(
            tables={
                table: TableInfo(
                    columns={
                        name: ColumnInfo(
                            name=name,
                            data_type=str(options.get("data_type", "string")),
                            encrypted=bool(options.get("encrypted", True)),
                            searchable=bool(options.get("searchable", False)),
                            default_redaction=str(options.get("default_redaction", REDACTED)),
                        )
                        for name, options in columns.items()
                    }
                )
                for table, columns in tables.items()
            }
        )
