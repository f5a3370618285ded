"""Regex masking: ``{"find": regex, "replace": template}`` with ``${n}`` group references.

Semantics: ``find`` must match the **whole** value (``re.fullmatch``, as if anchored with ``^…$``);
the output is ``replace`` with each ``${n}`` replaced by group ``n`` (``${0}`` is the whole match,
an unmatched group gives ``""``, ``$$`` is a literal ``$``). A value the regex does not match, or
one longer than ``MAX_INPUT_LENGTH``, is masked as ``full``. So the output is always exactly what
the template builds: a non-matching value never passes through unmasked, as it would with
``re.sub``.

Catastrophic backtracking: Python's ``re`` has no timeout, and a regex runs on input that callers
of the data plane choose, so a bad pattern saved by an admin would be a denial-of-service lever.
Bounding lengths alone is not enough (``(a+)+b`` and ``a?a?…a?aa…a`` are exponential in the
input length; 30 characters already take seconds), so validation also bounds the parsed pattern:

* the pattern is at most ``MAX_PATTERN_LENGTH`` characters and the template ``MAX_TEMPLATE_LENGTH``;
  values longer than ``MAX_INPUT_LENGTH`` are never matched (they mask as ``full``);
* inside a repeated group (``(…)*``, ``(…){2,}``…) only fixed-count pieces: no quantifier with a
  choice (``(a+)+``, ``(a?){20}``) and no alternation (``(a|aa)*``) — the exponential shapes;
* no backreferences (``\\1``, ``(?P=name)``, ``(?(1)…)``), which make matching NP-hard;
* the product of the choices of all quantifiers (an unbounded one counting ``MAX_INPUT_LENGTH + 1``,
  ``?`` counting 2, ``{m,n}`` counting ``n - m + 1``) times the branches of alternations is at most
  ``MAX_BACKTRACK_PATHS``: ``k`` unbounded quantifiers in sequence cost ``O(n^k)`` on a failing
  match. Two of them on 256 characters take ≈ 0.4 ms (measured: ``(.*)(.*)x``); three would take
  ≈ 30 ms per value, so three are refused.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from vaults.masking.presets import FULL_MASK

MAX_PATTERN_LENGTH = 256
MAX_TEMPLATE_LENGTH = 256
MAX_INPUT_LENGTH = 256
# (MAX_INPUT_LENGTH + 1) ** 2 * 4: two unbounded quantifiers and two optional pieces.
MAX_BACKTRACK_PATHS = 257 * 257 * 4

# The stdlib's own regex parser (``sre_parse`` is its deprecated alias): inspecting the parsed
# pattern is the only reliable way to see its quantifiers. Imported by name because typeshed ships
# no stubs for the private module.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

_REPEATS = frozenset({_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)})
_BACKREFS = frozenset({_c.GROUPREF, _c.GROUPREF_IGNORE, _c.GROUPREF_LOC_IGNORE, _c.GROUPREF_UNI_IGNORE})
_TEMPLATE_TOKEN = re.compile(r"\$\{([^}]*)\}|\$\$|\$")


class _UnsafePattern(Exception):
    """A pattern whose matching time the validator cannot bound; the message says why."""


def _cost(items: Any, repeated: bool) -> int:
    """An upper bound on the ways a failing match can backtrack through ``items``.

    Each variable quantifier multiplies by the number of counts it can try (an unbounded one by
    ``MAX_INPUT_LENGTH + 1``), an alternation adds its branches. ``repeated`` says the items sit in
    a group that itself repeats: there a variable quantifier or an alternation multiplies with
    every repetition (exponential), so it is refused instead.
    """
    total = 1
    for op, av in items:
        if op in _REPEATS:
            low, high, body = av
            if low != high and repeated:
                raise _UnsafePattern(
                    "a quantifier inside a repeated group (like (a+)+ or (a?){20}) can take exponential "
                    "time; inside a repeated group use only fixed counts like \\d{3}"
                )
            body_cost = _cost(body, repeated or high > 1)
            if high > 1:
                total *= min(high, MAX_INPUT_LENGTH) - low + 1 if low != high else 1
            elif low != high:  # "?" on a piece: skip it, or take it and its own choices
                total *= 1 + body_cost
            else:
                total *= body_cost
        elif op in _BACKREFS or op == _c.GROUPREF_EXISTS:
            raise _UnsafePattern("backreferences (\\1, (?P=name), (?(1)...)) are not allowed")
        elif op == _c.SUBPATTERN:
            total *= _cost(av[3], repeated)
        elif op == _c.BRANCH:
            if repeated:
                raise _UnsafePattern(
                    "an alternation inside a repeated group (like (a|aa)*) can take exponential time; "
                    "use a character class like [ab]* where you can"
                )
            total *= sum(_cost(branch, repeated) for branch in av[1])
        elif op == _c.ATOMIC_GROUP:
            total *= _cost(av, repeated)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            total *= _cost(av[1], repeated)
    return total


def _pattern_problem(pattern: str) -> str | None:
    """Why a (compiling) pattern may backtrack catastrophically, or None when it is bounded."""
    try:
        cost = _cost(_parser.parse(pattern), repeated=False)
    except _UnsafePattern as exc:
        return str(exc)
    if cost > MAX_BACKTRACK_PATHS:
        return (
            "too many ways to backtrack: each *, +, ? or {m,n} multiplies the matching time (two of * "
            "or + are the most allowed); make quantifiers fixed ({4}) or bounded ({0,3}) where you can"
        )
    return None


def _parse_template(template: str) -> tuple[list[str | int], list[str]]:
    """Split a template into literal strings and group numbers; second item: the errors found."""
    parts: list[str | int] = []
    errors: list[str] = []
    pos = 0
    for m in _TEMPLATE_TOKEN.finditer(template):
        if m.start() > pos:
            parts.append(template[pos : m.start()])
        pos = m.end()
        token = m.group(0)
        if token == "$$":
            parts.append("$")
        elif token == "$":
            errors.append(
                f"masking.replace: '$' at position {m.start()} must start a group reference ${{n}} "
                "or be written '$$' for a literal '$'"
            )
        elif m.group(1).isascii() and m.group(1).isdigit() and len(m.group(1)) <= 3:
            parts.append(int(m.group(1)))
        else:
            errors.append(
                f"masking.replace: '{token}' is not a group reference; write ${{n}} with n the number "
                "of a group in 'find' (named references are not supported)"
            )
    if pos < len(template):
        parts.append(template[pos:])
    # Merge adjacent literals (e.g. around "$$") so the per-value join has fewer parts.
    merged: list[str | int] = []
    for part in parts:
        if merged and isinstance(part, str) and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return merged, errors


def validate_regex_masking(find: object, replace: object) -> list[str]:
    """Every problem with a ``find``/``replace`` pair, each a message for the schema's author."""
    errors: list[str] = []
    if not isinstance(find, str) or not find:
        errors.append("masking.find: must be a non-empty string holding a regular expression")
    if not isinstance(replace, str):
        errors.append("masking.replace: must be a string (the output, with ${n} for group n of 'find')")
    if errors or not isinstance(find, str) or not isinstance(replace, str):
        return errors
    if len(find) > MAX_PATTERN_LENGTH:
        errors.append(f"masking.find: {len(find)} characters; at most {MAX_PATTERN_LENGTH} are allowed")
    if len(replace) > MAX_TEMPLATE_LENGTH:
        errors.append(f"masking.replace: {len(replace)} characters; at most {MAX_TEMPLATE_LENGTH} are allowed")
    if errors:
        return errors
    try:
        compiled = re.compile(find)
    except re.error as exc:
        return [f"masking.find: the regular expression does not compile: {exc}"]
    problem = _pattern_problem(find)
    if problem is not None:
        errors.append(f"masking.find: {problem}")
    parts, template_errors = _parse_template(replace)
    errors.extend(template_errors)
    for part in parts:
        if isinstance(part, int) and part > compiled.groups:
            errors.append(
                f"masking.replace: ${{{part}}} refers to group {part}, but 'find' has "
                f"{compiled.groups} group{'s' if compiled.groups != 1 else ''}"
            )
    return errors


def regex_masker(find: str, replace: str) -> Callable[[str], str]:
    """The text → masked text function of a validated ``find``/``replace`` pair."""
    fullmatch = re.compile(find).fullmatch
    parts, _ = _parse_template(replace)
    if all(isinstance(p, str) for p in parts):
        constant = "".join(p for p in parts if isinstance(p, str))

        def mask_constant(text: str) -> str:
            if len(text) > MAX_INPUT_LENGTH or fullmatch(text) is None:
                return FULL_MASK
            return constant

        return mask_constant

    def mask(text: str) -> str:
        if len(text) > MAX_INPUT_LENGTH:
            return FULL_MASK
        m = fullmatch(text)
        if m is None:
            return FULL_MASK
        group = m.group
        return "".join(p if isinstance(p, str) else (group(p) or "") for p in parts)

    return mask
