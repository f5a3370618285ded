"""Settings come from the environment; production (DEBUG=False) refuses to start without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "vault.example.com",
    "DATABASE_URL": "postgres://vault:pw@db.example.com:5432/vault",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "CELERY_BROKER_URL": "redis://cache.example.com:6379/1",
    "VAULTSTUDIO_BASE_URL": "https://vault.example.com",
    "VAULTSTUDIO_MASTER_KEY": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
}


def start(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in ("CACHE_URL",)}
    env.update({"DJANGO_SETTINGS_MODULE": "vaultstudio.settings", "VAULTSTUDIO_VAR_DIR": str(tmp_path)})
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_production_without_settings_names_every_missing_one(tmp_path):
    result = start({"DEBUG": "False"}, tmp_path)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in message
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CACHE_URL or REDIS_URL",
        "CELERY_BROKER_URL",
        "VAULTSTUDIO_BASE_URL",
        "VAULTSTUDIO_MASTER_KEY",
    ):
        assert name in message, name


def test_production_names_just_the_one_missing(tmp_path):
    env = dict(PRODUCTION)
    env.pop("VAULTSTUDIO_BASE_URL")
    result = start(env, tmp_path)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "VAULTSTUDIO_BASE_URL" in message and "SECRET_KEY" not in message


def test_production_with_everything_set_starts(tmp_path):
    result = start(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql"


def test_development_defaults_need_nothing(tmp_path):
    result = start({"DEBUG": "True"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_master_key_is_generated_in_development_only(tmp_path, settings):
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    from vaultstudio.master_key import load_master_key

    settings.VAULTSTUDIO_MASTER_KEY = ""
    settings.VAULTSTUDIO_MASTER_KEY_FILE = str(tmp_path / "master.key")
    settings.DEBUG = False
    load_master_key.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="No master key"):
        load_master_key()
    settings.DEBUG = True
    load_master_key.cache_clear()
    key = load_master_key()
    assert len(key) == 32 and (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    load_master_key.cache_clear()
    assert load_master_key() == key  # stable across restarts
    load_master_key.cache_clear()


def test_bad_master_key_is_refused_with_a_message(settings):
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    from vaultstudio.master_key import load_master_key

    settings.VAULTSTUDIO_MASTER_KEY = "not base64!"
    load_master_key.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="base64 of 32"):
        load_master_key()
    settings.VAULTSTUDIO_MASTER_KEY = "c2hvcnQ="
    load_master_key.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        load_master_key()
    load_master_key.cache_clear()
