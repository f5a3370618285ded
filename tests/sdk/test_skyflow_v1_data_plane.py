"""Skyflow's official Python SDK 1.x (``skyflow==1.16.1``) drives VaultStudio's data plane.

1.x and the venv's 2.x share the distribution name ``skyflow``, so they can't be installed side by
side. A session fixture downloads the 1.16.1 wheel once (``pip download``, into the pytest cache,
reused across runs) and unpacks it; ``skyflow_v1_flow.py`` then runs in a subprocess with the
unpacked wheel first on ``sys.path`` and the venv's site-packages after it (PyJWT, requests,
cryptography, aiohttp). The SDK itself is not patched at all: v1 takes any vault URL and token URI.

The flow is SKYFLOW_WIRE.md §8 "v1": insert → get → get_by_id → update → detokenize → query →
delete, by three callers of the same vault — one granted PLAIN_TEXT, one only MASKED, one nothing —
and the test checks each answer is exactly what those policies allow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.sdk.conftest import ADA, ADA_DEFAULT, ADA_DEFAULT_MASKED, ADA_MASKED, MASKED_POLICIES, PLAIN_POLICIES

pytestmark = pytest.mark.django_db(transaction=True)

V1_VERSION = "1.16.1"
V1_WHEEL = f"skyflow-{V1_VERSION}-py3-none-any.whl"
FLOW = Path(__file__).with_name("skyflow_v1_flow.py")
REPO = Path(__file__).resolve().parents[2]


def _cache_dir(config: pytest.Config) -> Path:
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("skyflow-v1"))
    # Running with -p no:cacheprovider: keep the wheel under var/ (git-ignored) instead.
    path = REPO / "var" / "skyflow-v1"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def skyflow_v1_dir(pytestconfig) -> Path:
    """The unpacked skyflow 1.16.1 wheel: a directory whose ``skyflow`` package is the 1.x SDK."""
    pytest.importorskip("aiohttp", reason="the skyflow 1.x SDK needs aiohttp (requirements-dev.txt)")
    cache = _cache_dir(pytestconfig)
    wheel = cache / V1_WHEEL
    if not wheel.exists():
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", f"skyflow=={V1_VERSION}", "--no-deps", "-d", str(cache)],
                capture_output=True,
                text=True,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"could not download the skyflow=={V1_VERSION} wheel from PyPI: pip timed out (no network?)")
        if done.returncode != 0 or not wheel.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            pytest.skip(f"could not download the skyflow=={V1_VERSION} wheel from PyPI (no network?): {tail[0]}")
    unpacked = cache / f"skyflow-{V1_VERSION}"
    if not (unpacked / "skyflow" / "version.py").exists():
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
    return unpacked


def run_v1_flow(v1_dir: Path, **args: str) -> dict:
    env = dict(os.environ)
    # PYTHONPATH entries come before site-packages: `import skyflow` finds 1.x, everything else
    # (PyJWT, requests, aiohttp, cryptography) still resolves in the venv.
    env["PYTHONPATH"] = os.pathsep.join([str(v1_dir), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, str(FLOW), json.dumps(args)], capture_output=True, text=True, timeout=90, env=env
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_v1_sdk_flow_returns_what_the_policies_allow(sdk_vault, sdk_caller, live_base, skyflow_v1_dir):
    plain = sdk_caller(sdk_vault, *PLAIN_POLICIES)
    masked = sdk_caller(sdk_vault, *MASKED_POLICIES)
    nobody = sdk_caller(sdk_vault)
    out = run_v1_flow(
        skyflow_v1_dir,
        base=live_base,
        vault_id=str(sdk_vault.id),
        plain=str(plain.path),
        masked=str(masked.path),
        nobody=str(nobody.path),
    )
    # The subprocess really ran 1.x from the unpacked wheel, not the venv's 2.x.
    assert out["sdk_version"] == V1_VERSION and out["sdk_file"].startswith(str(skyflow_v1_dir))

    # insert: tokens of the tokenized columns, plus the new record's id.
    inserted = out["insert"]["records"][0]
    assert inserted["table"] == "persons"
    row = inserted["fields"]
    sid = row["skyflow_id"]
    assert set(row) == {"skyflow_id", "ssn", "card_number"}
    assert row["ssn"] != ADA["ssn"] and row["card_number"][:6] == "411111" and row["card_number"] != ADA["card_number"]

    # continueOnError: the good record is inserted, the bad one reported with its index, no raise.
    partial = out["insert_continue_on_error"]
    assert [r["request_index"] for r in partial["records"]] == [0]
    assert partial["errors"][0]["error"]["code"] == 400 and partial["errors"][0]["error"]["request_index"] == 1
    assert "no_such_column" in partial["errors"][0]["error"]["description"]

    plain_record = {**ADA, "skyflow_id": sid}
    assert out["get_plain"] == {"records": [{"fields": plain_record, "table": "persons"}], "errors": []}
    assert out["get_by_email"]["records"] == [{"fields": plain_record, "table": "persons"}]
    assert out["get_by_id"]["records"] == [{"fields": plain_record, "table": "persons"}]
    assert out["get_masked_request"]["records"] == [{"fields": {**ADA_MASKED, "skyflow_id": sid}, "table": "persons"}]
    tokens = out["get_tokens"]["records"][0]["fields"]
    assert tokens["ssn"] == row["ssn"] and tokens["card_number"] == row["card_number"]

    # update (tokens on, the v1 default): the id, and tokens of what was written.
    # region is not a tokenized column, so there is no token to report for it.
    assert out["update"] == {"records": [{"id": sid, "fields": {}}], "errors": []}
    assert out["get_after_update"]["records"][0]["fields"] == {**plain_record, "region": "US"}

    expected_detok = [
        {"token": row["ssn"], "value": ADA["ssn"]},
        {"token": row["card_number"], "value": ADA["card_number"]},
    ]
    assert out["detokenize"] == {"records": expected_detok}
    assert out["detokenize_bulk"] == {"records": expected_detok}
    bad = out["detokenize_bad"]
    assert bad["code"] == 500 and bad["data"]["records"] == [expected_detok[0]]
    assert bad["data"]["errors"][0]["token"] == "no-such-token" and bad["data"]["errors"][0]["error"]["code"] == 404

    assert [r["fields"]["skyflow_id"] for r in out["query"]["records"]] == [sid]
    assert out["query"]["records"][0]["fields"] == {**ADA_DEFAULT, "region": "US", "skyflow_id": sid}
    unsupported = out["query_unsupported"]
    assert unsupported["code"] == 500 and unsupported["data"]["error"]["code"] == 400

    # MASKED only: never plain text, whatever the request asks for.
    for key in ("masked_get", "masked_get_by_id"):
        assert out[key]["records"] == [{"fields": {**ADA_MASKED, "skyflow_id": sid}, "table": "persons"}], key
    assert out["masked_detokenize"] == {"records": [{"token": row["ssn"], "value": ADA_MASKED["ssn"]}]}
    # Query by the record id (Skyflow's own example); DEFAULT levels, within the MASKED grant.
    assert out["masked_query"]["records"] == [{"fields": {**ADA_DEFAULT_MASKED, "skyflow_id": sid}}]

    # No policy: no records, and a refused write.
    assert out["nobody_get"] == {"records": [], "errors": []}
    assert out["nobody_insert"]["code"] == 403

    assert out["delete"] == {"records": [{"skyflow_id": sid, "deleted": True}]}
    again = out["delete_again"]
    assert again["code"] == 500 and again["data"]["errors"][0]["id"] == sid
    assert again["data"]["errors"][0]["error"]["code"] == 404
    assert out["get_after_delete"]["records"] == []
