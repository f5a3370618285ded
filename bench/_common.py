"""Shared pieces of the benchmarks: run sizes, interleaved timing, results, Django start-up, the table.

The machine the benchmarks run on is shared and noisy, so nothing here compares a time with a fixed
number of seconds. Every subject is timed in several rounds *interleaved* with its baseline (a slow
moment hits both), and each side is summarised by its median round.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# --- run sizes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does; ``--quick`` shrinks everything for a smoke test."""

    rounds: int
    token_batch: int  # token exchanges per subject per round
    append_batch: int  # appends (or inserts) per subject per round
    chain_events: int  # events seeded before timing chain verification
    verify_rounds: int


FULL = Sizes(rounds=15, token_batch=40, append_batch=200, chain_events=200_000, verify_rounds=3)
QUICK = Sizes(rounds=5, token_batch=15, append_batch=60, chain_events=20_000, verify_rounds=2)

# --- results --------------------------------------------------------------------------------------


@dataclass
class Result:
    """One measured line of the report.

    ``target_kind`` is ``"ratio"`` (measured / baseline must reach ``target``), ``"rate"`` (measured
    must reach ``target`` per second) or ``""`` for lines printed for context only.
    """

    bench: str
    label: str
    backend: str
    unit: str
    runs: list[float]
    baseline_label: str = ""
    baseline_runs: list[float] = field(default_factory=list)
    target_kind: str = ""
    target: float = 0.0
    note: str = ""
    # True when each round of ``runs`` was timed next to the same round of ``baseline_runs``.
    paired: bool = True

    @property
    def rate(self) -> float:
        return statistics.median(self.runs)

    @property
    def baseline(self) -> float | None:
        return statistics.median(self.baseline_runs) if self.baseline_runs else None

    @property
    def ratio(self) -> float | None:
        """Subject over baseline: the median of per-round ratios when rounds were paired.

        Pairing cancels what a busy moment does to both sides of one round; otherwise (separate
        series) it is the ratio of the two medians.
        """
        if not self.baseline_runs:
            return None
        if self.paired and len(self.runs) == len(self.baseline_runs):
            return statistics.median(s / b for s, b in zip(self.runs, self.baseline_runs, strict=True))
        return self.rate / statistics.median(self.baseline_runs)

    @property
    def met(self) -> bool | None:
        if self.target_kind == "ratio":
            return self.ratio is not None and self.ratio >= self.target
        if self.target_kind == "rate":
            return self.rate >= self.target
        return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(**data)


# --- timing ---------------------------------------------------------------------------------------


def interleaved(subjects: dict[str, Callable[[], int]], rounds: int) -> dict[str, list[float]]:
    """Time each subject ``rounds`` times, alternating between them; returns operations/s per round.

    A subject is a callable that does one batch and returns how many operations it did. The order
    rotates every round so no subject always runs right after another one's garbage or cache misses.
    """
    names = list(subjects)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start = time.perf_counter()
            done = subjects[name]()
            elapsed = time.perf_counter() - start
            rates[name].append(done / elapsed)
    return rates


def timed_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(who).ru_maxrss / 1024


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


# --- Django in a benchmark process ----------------------------------------------------------------


def start_django() -> None:
    """Set Django up from the environment the parent prepared, then build the schema.

    Settings are imported with DEBUG=True so the embedded defaults apply (the database cache, and the
    replay table when there is no Redis); DEBUG is then switched off because under DEBUG every query is also logged in
    ``connection.queries``, a cost production never pays and which would tilt ORM-vs-raw comparisons.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultstudio.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)


def cache_description() -> str:
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return f"{backend} ({settings.CACHES['default']['LOCATION']})"


# --- the report -----------------------------------------------------------------------------------


def fmt_rate(value: float | None, unit: str = "/s") -> str:
    if value is None:
        return "—"
    if value >= 100_000:
        return f"{value / 1000:,.0f}k{unit}"
    if value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:,.1f}{unit}"


def fmt_target(result: Result) -> str:
    if result.target_kind == "ratio":
        return f"≥ {result.target:.0%}"
    if result.target_kind == "rate":
        return f"≥ {fmt_rate(result.target, ' ev/s')}"
    return "(context)"


def fmt_verdict(result: Result) -> str:
    if result.met is None:
        return ""
    return "MET" if result.met else "MISSED"


def table(rows: Iterable[Result]) -> str:
    """The summary table: measured, in-run baseline, their ratio, the target and the verdict."""
    header = ("benchmark", "db", "measured", "in-run baseline", "vs baseline", "target", "")
    lines = []
    for r in rows:
        baseline = f"{fmt_rate(r.baseline)} {r.baseline_label}".strip() if r.baseline is not None else r.baseline_label
        ratio = f"{r.ratio:.0%}" if r.ratio is not None else ""
        if r.target_kind == "rate":
            ratio = f"{ratio} ({r.rate / r.target:.2f}× target)" if ratio else f"{r.rate / r.target:.2f}× target"
        measured = fmt_rate(r.rate, f" {r.unit}")
        lines.append((r.label, r.backend, measured, baseline, ratio, fmt_target(r), fmt_verdict(r)))
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=False)]
    out = []
    for index, line in enumerate([header, *lines]):
        out.append("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def details(rows: Iterable[Result]) -> str:
    """Every round's rate and the per-operation time, so the spread (noise) is visible."""
    out = []
    for r in rows:
        runs = " / ".join(fmt_rate(v, "") for v in r.runs)
        line = f"{r.backend:<10} {r.label}: {1e6 / r.rate:,.1f} µs/op; rounds {runs}"
        if r.baseline_runs:
            base = " / ".join(fmt_rate(v, "") for v in r.baseline_runs)
            assert r.baseline is not None
            line += f"\n{'':<10}   baseline: {1e6 / r.baseline:,.1f} µs/op; rounds {base}"
            if r.paired and len(r.runs) == len(r.baseline_runs):
                ratios = " / ".join(f"{s / b:.0%}" for s, b in zip(r.runs, r.baseline_runs, strict=True))
                line += f"\n{'':<10}   ratio per round: {ratios}"
        if r.note:
            line += f"\n{'':<10}   note: {r.note}"
        out.append(line)
    return "\n".join(out)
