"""Hard limits on a policy, so that neither saving nor enforcing one can be made arbitrarily expensive."""

from __future__ import annotations

MAX_SOURCE_BYTES = 64 * 1024
MAX_STATEMENTS = 200
# Connectives, predicates and operands each count as one node; an IN list counts as one operand.
MAX_CONDITION_NODES = 64
MAX_IDENTIFIER_LENGTH = 128
MAX_LITERAL_LENGTH = 1024
MAX_IN_VALUES = 256
