"""Run VaultStudio's benchmarks (``make bench``): each hot path against an in-run baseline.

    .venv/bin/python bench/run.py [--quick] [--only NAME] [--db sqlite|postgresql|all]

Each database gets its own child process, because Django reads its settings once per process:
SQLite in a throwaway file (with the embedded defaults: DatabaseCache, and assertion replays
remembered in the table ``accounts_usedassertion``), then PostgreSQL in a throwaway database
``vs_bench`` on 127.0.0.1:5432 (with Redis db 15 as the cache, and so as the replay store, when it
answers).
The parent creates and drops those databases, collects each child's results as JSON and prints one
table: measured rate, the baseline measured in the same run on the same data, their ratio and the
target. Nothing is asserted about wall-clock time; the exit status is non-zero only when a
benchmark itself fails to run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (bench/run.py): import the project and the bench package from the repository root.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._common import FULL, QUICK, ROOT, Result, details, peak_rss_mib, start_django, table

BENCHMARKS = ("token-exchange", "audit-append", "chain-verify", "policy-decision", "data-plane")
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_DATABASE = "vs_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/15"


def _pick(name: str) -> str:
    matches = [b for b in BENCHMARKS if b.startswith(name) or b.replace("-", "_").startswith(name)]
    if len(matches) != 1:
        raise argparse.ArgumentTypeError(f"--only takes one of {', '.join(BENCHMARKS)} (or a unique prefix).")
    return matches[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts: a smoke test in under a minute")
    parser.add_argument("--only", type=_pick, metavar="NAME", help=f"run one benchmark: {', '.join(BENCHMARKS)}")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="all", help="databases to run on")
    parser.add_argument("--child", choices=("sqlite", "postgresql"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the child: one database, one Django process ---------------------------------------------------


def child_main(args: argparse.Namespace) -> None:
    start_django()
    from django.db import connection

    from bench import audit_append, chain_verify, data_plane, policy_decision, token_exchange
    from bench._common import cache_description

    modules = {
        "token-exchange": token_exchange,
        "audit-append": audit_append,
        "chain-verify": chain_verify,
        "policy-decision": policy_decision,
        "data-plane": data_plane,
    }
    sizes = QUICK if args.quick else FULL
    results: list[Result] = []
    for name in BENCHMARKS:
        if args.only in (None, name):
            results.extend(modules[name].run(sizes, args.child))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            version = f"SQLite {cursor.fetchone()[0]} (WAL, synchronous=NORMAL, IMMEDIATE transactions)"
    Path(args.out).write_text(
        json.dumps(
            {
                "backend": args.child,
                "database": version,
                "cache": cache_description(),
                "peak_rss_mib": peak_rss_mib(),
                "results": [r.to_json() for r in results],
            }
        )
    )


# --- the parent: throwaway databases, one child each, the report ----------------------------------


def _base_env(var_dir: str) -> dict[str, str]:
    # Settings the run decides itself, or leaves at the product's defaults, whatever this shell has set.
    overridden = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "DB_CONN_MAX_AGE", "VAULTSTUDIO_REPLAY_STORE")
    env = {k: v for k, v in os.environ.items() if k not in overridden}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "vaultstudio.settings",
            # DEBUG=True at import selects the embedded defaults; the child turns DEBUG off after setup.
            "DEBUG": "True",
            "VAULTSTUDIO_VAR_DIR": var_dir,
            "VAULTSTUDIO_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CELERY_BROKER_URL": "memory://",
            # DB_CONN_MAX_AGE is left at the product's default (60 s, persistent connections) and
            # VAULTSTUDIO_REPLAY_STORE at "auto": the table without Redis, Redis SET NX with it.
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def _postgres_up() -> str:
    """Create the throwaway database; returns "" when ready, else why PostgreSQL is skipped."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a runtime requirement
        return f"psycopg is not importable ({exc})"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 (user postgres) is unreachable or refused: {str(exc).strip()}"
    return ""


def _postgres_down() -> None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    except psycopg.Error as exc:
        print(f"warning: could not drop the database {PG_DATABASE}: {exc}", file=sys.stderr)


def _redis_up() -> str:
    """ "" when Redis answers at REDIS_URL, else why not."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "use the database cache instead"
        return f"{type(exc).__name__}: {exc}"
    return ""


def _run_child(backend: str, env: dict[str, str], args: argparse.Namespace, out: Path) -> dict[str, Any] | None:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", backend, "--out", str(out)]
    if args.quick:
        command.append("--quick")
    if args.only:
        command += ["--only", args.only]
    print(f"[{backend}] running …", file=sys.stderr, flush=True)
    completed = subprocess.run(command, env=env, cwd=ROOT, check=False)
    if completed.returncode != 0 or not out.exists():
        print(
            f"[{backend}] the benchmark process failed (exit {completed.returncode}); see its output above.",
            file=sys.stderr,
        )
        return None
    return json.loads(out.read_text())


def _load(averages: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in averages)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return 0

    started = time.perf_counter()
    load_before = os.getloadavg()
    notes: list[str] = []
    reports: list[dict[str, Any]] = []
    failed = False
    workdir = Path(tempfile.mkdtemp(prefix="vs-bench-"))
    try:
        if args.db in ("sqlite", "all"):
            env = _base_env(str(workdir / "sqlite"))
            env["DATABASE_URL"] = f"sqlite:///{workdir / 'sqlite' / 'bench.sqlite3'}"
            report = _run_child("sqlite", env, args, workdir / "sqlite.json")
            failed |= report is None
            reports += [report] if report else []
        if args.db in ("postgresql", "all"):
            why_not = _postgres_up()
            if why_not:
                notes.append(f"PostgreSQL part skipped: {why_not}")
                print(notes[-1], file=sys.stderr)
            else:
                try:
                    env = _base_env(str(workdir / "postgresql"))
                    env["DATABASE_URL"] = PG_URL
                    redis_down = _redis_up()
                    if redis_down:
                        notes.append(
                            f"Redis at {REDIS_URL} unavailable ({redis_down}): the PostgreSQL run uses "
                            "the database cache and the replay table instead."
                        )
                    else:
                        env["CACHE_URL"] = REDIS_URL
                    report = _run_child("postgresql", env, args, workdir / "postgresql.json")
                    failed |= report is None
                    reports += [report] if report else []
                finally:
                    _postgres_down()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    results = [Result.from_json(r) for report in reports for r in report["results"]]
    print()
    print(
        f"VaultStudio benchmarks — {'quick' if args.quick else 'full'} run, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}); "
        "medians of interleaved rounds"
    )
    load_after = os.getloadavg()
    print(
        f"  load average (1/5/15 min) at start {_load(load_before)}, at end {_load(load_after)}: other work on the "
        "machine slows some rounds more than others"
    )
    for report in reports:
        print(f"  {report['backend']}: {report['database']}; cache: {report['cache']}")
    for note in notes:
        print(f"  {note}")
    print()
    if results:
        print(table(results))
        print()
        print("Details (per operation; every round, so the noise is visible):")
        print(details(results))
        print()
    rss = ", ".join(f"{r['backend']} run {r['peak_rss_mib']:,.0f} MiB" for r in reports)
    print(
        f"Peak RSS: {rss}{', ' if rss else ''}this process {peak_rss_mib():,.0f} MiB. "
        f"Wall time {time.perf_counter() - started:,.0f} s."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
