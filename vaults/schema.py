"""The vault schema document (DESIGN.md §15) as a pure parser: JSON in, validated specs or every error.

```json
{"tables": [{"name": "persons", "columns": [{"name": "ssn", "data_type": "ssn", ...}]}]}
```
Every column key but ``name`` is optional; errors carry the path of what is wrong
(``tables[0].columns[2].data_type``) so a schema kept in git can be fixed line by line.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .masking import validate_masking
from .models import DATA_TYPES, REDACTION_LEVELS, TOKENIZATION_KINDS
from .tokenization import validate_tokenization

NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RESERVED_COLUMNS = {"skyflow_id"}
MAX_TABLES = 100
MAX_COLUMNS = 200
MAX_REGEXES = 10
MAX_REGEX_LENGTH = 512
_COLUMN_KEYS = {
    "name",
    "data_type",
    "required",
    "unique",
    "validation",
    "encrypted",
    "searchable",
    "tokenization",
    "token_ttl_minutes",
    "default_redaction",
    "masking",
    "column_group",
}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    data_type: str = "string"
    required: bool = False
    unique: bool = False
    validation: tuple[str, ...] = ()
    encrypted: bool = True
    searchable: bool = False
    tokenization: str = "NONE"
    token_ttl_minutes: int | None = None
    default_redaction: str = "REDACTED"
    masking: dict[str, str] = field(default_factory=lambda: {"preset": "full"})
    column_group: str | None = None

    def as_document(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["validation"] = list(self.validation)
        return doc


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]

    def as_document(self) -> dict[str, Any]:
        return {"name": self.name, "columns": [c.as_document() for c in self.columns]}


@dataclass(frozen=True)
class SchemaSpec:
    tables: tuple[TableSpec, ...]

    def as_document(self) -> dict[str, Any]:
        return {"tables": [t.as_document() for t in self.tables]}


class SchemaErrors(ValueError):
    """Every problem of a schema document, as ``[{"field": path, "message": text}]``."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in details))
        self.details = details


def _bool(value: Any, path: str, errors: list[dict[str, str]], default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.append({"field": path, "message": "must be true or false."})
        return default
    return value


def _choice(value: Any, allowed: tuple[str, ...], path: str, errors: list[dict[str, str]], default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        errors.append({"field": path, "message": f"must be one of {', '.join(allowed)}; got {value!r}."})
        return default
    return str(value)


def _regexes(value: Any, path: str, errors: list[dict[str, str]]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_REGEXES:
        errors.append({"field": path, "message": f"must be a list of at most {MAX_REGEXES} regular expressions."})
        return ()
    out = []
    for i, pattern in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_REGEX_LENGTH:
            errors.append(
                {"field": where, "message": f"must be a regular expression of 1 to {MAX_REGEX_LENGTH} characters."}
            )
            continue
        try:
            re.compile(pattern)
        except re.error as exc:
            errors.append({"field": where, "message": f"is not a valid regular expression ({exc})."})
            continue
        out.append(pattern)
    return tuple(out)


_PREFIX = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): (.*)$", re.S)


def _located(column_path: str, problem: str, default_field: str) -> dict[str, str]:
    """The masking and tokenization validators prefix each problem with its option ("masking.find: …")."""
    match = _PREFIX.match(problem)
    if match:
        return {"field": f"{column_path}.{match.group(1)}", "message": match.group(2)}
    return {"field": f"{column_path}.{default_field}", "message": problem}


def _masking(value: Any, data_type: str, path: str, errors: list[dict[str, str]]) -> dict[str, str]:
    if value is None:
        return {"preset": "full"}
    problems = validate_masking(value, data_type=data_type)
    column_path = path.rsplit(".", 1)[0]
    errors.extend(_located(column_path, problem, "masking") for problem in problems)
    if problems:
        return {"preset": "full"}
    return {str(k): str(v) for k, v in value.items()}


def _column(doc: Any, path: str, errors: list[dict[str, str]]) -> ColumnSpec | None:
    if not isinstance(doc, dict):
        errors.append({"field": path, "message": "must be an object with at least a name."})
        return None
    for key in sorted(set(doc) - _COLUMN_KEYS):
        errors.append(
            {"field": f"{path}.{key}", "message": f"unknown column option; known: {', '.join(sorted(_COLUMN_KEYS))}."}
        )
    name = doc.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        errors.append(
            {"field": f"{path}.name", "message": "must be a lowercase identifier (a-z, 0-9, _), 1-63 characters."}
        )
        return None
    if name in RESERVED_COLUMNS:
        errors.append({"field": f"{path}.name", "message": f"{name} is reserved (it is the record id)."})
        return None
    data_type = _choice(doc.get("data_type"), DATA_TYPES, f"{path}.data_type", errors, "string")
    encrypted = _bool(doc.get("encrypted"), f"{path}.encrypted", errors, True)
    searchable = _bool(doc.get("searchable"), f"{path}.searchable", errors, False)
    unique = _bool(doc.get("unique"), f"{path}.unique", errors, False)
    tokenization = _choice(doc.get("tokenization"), TOKENIZATION_KINDS, f"{path}.tokenization", errors, "NONE")
    ttl = doc.get("token_ttl_minutes")
    problems = validate_tokenization(tokenization, token_ttl_minutes=ttl, data_type=data_type)
    errors.extend(_located(path, problem, "tokenization") for problem in problems)
    if problems or tokenization != "TRANSIENT":
        ttl = None
    if encrypted and unique and not searchable:
        errors.append(
            {
                "field": f"{path}.unique",
                "message": "unique on an encrypted column needs searchable: true (its blind index enforces it).",
            }
        )
    if data_type == "json" and (searchable or unique):
        errors.append({"field": f"{path}.searchable", "message": "json columns cannot be searchable or unique."})
    group = doc.get("column_group")
    if group is not None and (not isinstance(group, str) or not NAME_RE.match(group)):
        errors.append({"field": f"{path}.column_group", "message": "must be a lowercase identifier or null."})
        group = None
    return ColumnSpec(
        name=name,
        data_type=data_type,
        required=_bool(doc.get("required"), f"{path}.required", errors, False),
        unique=unique,
        validation=_regexes(doc.get("validation"), f"{path}.validation", errors),
        encrypted=encrypted,
        searchable=searchable,
        tokenization=tokenization,
        token_ttl_minutes=ttl,
        default_redaction=_choice(
            doc.get("default_redaction"), REDACTION_LEVELS, f"{path}.default_redaction", errors, "REDACTED"
        ),
        masking=_masking(doc.get("masking"), data_type, f"{path}.masking", errors),
        column_group=group or None,
    )


def parse_schema(doc: Any) -> SchemaSpec:
    """Validate a schema document; raise SchemaErrors listing every problem."""
    errors: list[dict[str, str]] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("tables"), list):
        raise SchemaErrors([{"field": "tables", "message": 'the schema is {"tables": [...]}.'}])
    for key in sorted(set(doc) - {"tables"}):
        errors.append({"field": key, "message": "unknown key; the schema document has only tables."})
    if len(doc["tables"]) > MAX_TABLES:
        errors.append({"field": "tables", "message": f"at most {MAX_TABLES} tables."})
    tables: list[TableSpec] = []
    seen_tables: set[str] = set()
    for t, table in enumerate(doc["tables"][:MAX_TABLES]):
        path = f"tables[{t}]"
        if not isinstance(table, dict):
            errors.append({"field": path, "message": "must be an object with name and columns."})
            continue
        for key in sorted(set(table) - {"name", "columns"}):
            errors.append({"field": f"{path}.{key}", "message": "unknown table option; a table has name and columns."})
        name = table.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            errors.append(
                {"field": f"{path}.name", "message": "must be a lowercase identifier (a-z, 0-9, _), 1-63 characters."}
            )
            continue
        if name in seen_tables:
            errors.append({"field": f"{path}.name", "message": f"table {name} appears twice."})
            continue
        seen_tables.add(name)
        columns_doc = table.get("columns", [])
        if not isinstance(columns_doc, list) or len(columns_doc) > MAX_COLUMNS:
            errors.append({"field": f"{path}.columns", "message": f"must be a list of at most {MAX_COLUMNS} columns."})
            continue
        columns: list[ColumnSpec] = []
        seen_columns: set[str] = set()
        for c, column_doc in enumerate(columns_doc):
            spec = _column(column_doc, f"{path}.columns[{c}]", errors)
            if spec is None:
                continue
            if spec.name in seen_columns:
                errors.append({"field": f"{path}.columns[{c}].name", "message": f"column {spec.name} appears twice."})
                continue
            seen_columns.add(spec.name)
            columns.append(spec)
        tables.append(TableSpec(name=name, columns=tuple(columns)))
    if errors:
        raise SchemaErrors(errors)
    return SchemaSpec(tables=tuple(tables))
