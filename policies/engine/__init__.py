"""The decision engine of DESIGN.md §6: pure ``decide`` over a compiled policy set (no Django, no I/O)."""

from policies.engine.conditions import evaluate, like_regex, row_matches
from policies.engine.decision import (
    SERVICE_ACCOUNT,
    USER,
    ColumnDecision,
    Decision,
    LevelGrant,
    Principal,
    StatementRef,
)
from policies.engine.policy_set import CompiledPolicySet, decide

__all__ = [
    "SERVICE_ACCOUNT",
    "USER",
    "ColumnDecision",
    "CompiledPolicySet",
    "Decision",
    "LevelGrant",
    "Principal",
    "StatementRef",
    "decide",
    "evaluate",
    "like_regex",
    "row_matches",
]
