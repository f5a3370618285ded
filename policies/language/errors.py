"""What the compiler reports: errors with a position, written for the person who wrote the policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PolicyError:
    """One problem in a policy, at a 1-based ``line`` and ``column``."""

    line: int
    column: int
    message: str

    def as_dict(self) -> dict[str, int | str]:
        return {"line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"
