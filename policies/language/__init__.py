"""The policy language of DESIGN.md §5: grammar, syntax tree, compiler and compiled format (pure, no Django)."""

from policies.language.compiled import (
    ACTIONS,
    EFFECTS,
    FORMAT,
    CompiledFormatError,
    CompiledPolicy,
    CompiledStatement,
    ResourcePattern,
    condition_to_json,
    load_compiled,
)
from policies.language.compiler import CompileResult, compile_policy
from policies.language.errors import PolicyError
from policies.language.schema import ColumnInfo, SchemaInfo, TableInfo

__all__ = [
    "ACTIONS",
    "EFFECTS",
    "FORMAT",
    "ColumnInfo",
    "CompileResult",
    "CompiledFormatError",
    "CompiledPolicy",
    "CompiledStatement",
    "PolicyError",
    "ResourcePattern",
    "SchemaInfo",
    "TableInfo",
    "compile_policy",
    "condition_to_json",
    "load_compiled",
]
