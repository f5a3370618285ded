"""A real Celery worker on the embedded filesystem broker runs a task that writes to the database.

Everything runs in subprocesses with their own SQLite file and var/ folder, exactly as `make run`
starts them (no broker server needed).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
pytestmark = pytest.mark.skipif(not CELERY.exists(), reason="needs the celery executable in the venv")

SEED = """
from datetime import timedelta
from django.utils import timezone
from accounts.models import ServiceAccountKey
from accounts.services import service_account_create, service_account_key_generate
from audit.actors import Actor
a = service_account_create(actor=Actor.cli(), name="expiring")
key, _ = service_account_key_generate(actor=Actor.cli(), account=a)
ServiceAccountKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() + timedelta(days=3))
"""


def test_worker_runs_a_task_from_the_filesystem_broker(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    env.update(
        {
            "VAULTSTUDIO_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "vaultstudio.settings",
        }
    )
    manage = [sys.executable, "manage.py"]
    for args in (["migrate", "-v", "0"], ["createcachetable"], ["shell", "-c", SEED]):
        subprocess.run(manage + args, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    worker = subprocess.Popen(
        [
            str(CELERY),
            "-A",
            "vaultstudio",
            "worker",
            "--beat",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        subprocess.run(
            [str(CELERY), "-A", "vaultstudio", "call", "accounts.tasks.key_expiry_sweep"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 60
        found = 0
        while time.monotonic() < deadline and not found:
            with sqlite3.connect(tmp_path / "db.sqlite3") as db:
                found = db.execute(
                    "SELECT COUNT(*) FROM audit_auditevent WHERE action = 'service_account.key.expiry_reminder'"
                ).fetchone()[0]
            time.sleep(0.5)
        assert found == 1, "the worker did not run accounts.tasks.key_expiry_sweep within 60 s"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            output = worker.communicate(timeout=30)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            output = worker.communicate()[0].decode(errors="replace")
    assert "beat: Starting" in output, output[-2000:]
