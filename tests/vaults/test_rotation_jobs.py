"""Key rotation end to end (DESIGN.md §7): new versions take writes at once, the resumable re-encryption
job (batches, crash and restart, retirement only after a scan), KEK rotation, the Celery tasks and the
management commands.

Records are sealed here with the storage contract directly (these tests are the only writer): an
encrypted column holds ``seal_text(key, plaintext, aad=ColumnAad(...).for_record(record id))``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from vaults import rotation
from vaults.crypto.blind_index import blind_index
from vaults.crypto.config import get_keyring
from vaults.crypto.envelope import ColumnAad, DataKeyMaterial, key_version_of_text, open_text, seal_text
from vaults.crypto.errors import CiphertextIntegrityError
from vaults.keys import active_data_key, data_keys, index_key, token_value_aad
from vaults.models import BlindIndex, Column, DataKey, Record, ReencryptionJob, Table, Token, Vault
from vaults.rotation import (
    data_key_rotate,
    kek_rotate,
    reencrypt_all,
    reencrypt_batch,
    reencryption_job,
)
from vaults.schema import parse_schema
from vaults.services import vault_create
from vaults.tasks import reencrypt_stalled, reencrypt_vault, rotation_due

pytestmark = pytest.mark.django_db

SCHEMA = {
    "tables": [
        {
            "name": "persons",
            "columns": [
                {"name": "name"},
                {"name": "ssn", "data_type": "ssn", "searchable": True},
                {"name": "email", "data_type": "email"},
                {"name": "region", "encrypted": False},
            ],
        },
        {
            "name": "cards",
            "columns": [{"name": "number", "data_type": "card_number"}, {"name": "brand", "encrypted": False}],
        },
    ]
}
ENCRYPTED = {"persons": ("name", "ssn", "email"), "cards": ("number",)}


def _seal(vault: Vault, key: DataKeyMaterial, table: str, column: str, record_id: object, text: str) -> str:
    aad = ColumnAad(vault_id=str(vault.id), table=table, column=column).for_record(str(record_id))
    return seal_text(key, text.encode(), aad=aad)


def _person(i: int) -> dict[str, str | None]:
    # Names and emails hold characters base64url never produces, so finding one in a dump is a leak.
    return {
        "name": f"Ann Example {i:04d}",
        "ssn": f"123-45-{i:04d}",
        # Some records lack a value (missing key, JSON null): the job must leave those alone.
        "email": None if i % 11 == 0 else f"ann.{i}@example.org",
    }


def _seed(actor, *, name: str = "rot", persons: int = 240, cards: int = 60) -> tuple[Vault, dict]:
    """A vault and records sealed under its active key; returns it and {(record id, column): plaintext}."""
    vault = vault_create(actor=actor, name=name, schema=parse_schema(SCHEMA))
    key = active_data_key(vault)
    tables = {t.name: t for t in Table.objects.filter(vault=vault)}
    ssn_column = Column.objects.get(table=tables["persons"], name="ssn")
    ikey = index_key(vault)
    plain: dict[tuple[str, str], str] = {}
    records, indexes = [], []
    for i in range(persons):
        record = Record(id=uuid.uuid4(), table=tables["persons"], data={"region": f"R{i % 3}"})
        for column, text in _person(i).items():
            if text is None:
                if i % 2:
                    record.data[column] = None
                continue
            record.data[column] = _seal(vault, key, "persons", column, record.id, text)
            plain[(str(record.id), column)] = text
        records.append(record)
        digest = blind_index(ikey, table="persons", column="ssn", data_type="ssn", value=_person(i)["ssn"])
        indexes.append(BlindIndex(column=ssn_column, record=record, digest=digest))
    for i in range(cards):
        record = Record(id=uuid.uuid4(), table=tables["cards"], data={"brand": "visa"})
        number = f"4111 1111 1111 {i:04d}"
        record.data["number"] = _seal(vault, key, "cards", "number", record.id, number)
        plain[(str(record.id), "number")] = number
        records.append(record)
    Record.objects.bulk_create(records)
    BlindIndex.objects.bulk_create(indexes)
    return vault, plain


def _read_all(vault: Vault) -> dict[tuple[str, str], tuple[int, str]]:
    """Open every stored encrypted value with the vault's keys: {(record id, column): (version, plaintext)}."""
    keys = data_keys(vault)
    values = {}
    for record in Record.objects.filter(table__vault=vault).select_related("table"):
        for column in ENCRYPTED[record.table.name]:
            stored = record.data.get(column)
            if stored is None:
                continue
            version = key_version_of_text(stored)
            aad = ColumnAad(vault_id=str(vault.id), table=record.table.name, column=column).for_record(str(record.id))
            values[(str(record.id), column)] = (version, open_text(keys[version], stored, aad=aad).decode())
    return values


def _assert_readable(vault: Vault, plain: dict) -> dict[int, int]:
    """Every value opens to what was sealed; returns how many values each version seals."""
    values = _read_all(vault)
    assert {k: text for k, (_, text) in values.items()} == plain
    counts: dict[int, int] = {}
    for version, _ in values.values():
        counts[version] = counts.get(version, 0) + 1
    # The rule of retirement: no version that still seals a value is ever retired.
    retired = set(DataKey.objects.filter(vault=vault, purpose="data", retired_at__isnull=False).values_list("version"))
    assert not {(v,) for v in counts} & retired
    return counts


def _retired(vault: Vault) -> list[int]:
    return sorted(
        DataKey.objects.filter(vault=vault, purpose="data", retired_at__isnull=False).values_list("version", flat=True)
    )


def _events(action: str, vault: Vault | None = None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(action=action).order_by("seq")
    return list(events.filter(vault_id=str(vault.id)) if vault else events)


def _ordered_ids(vault: Vault) -> list[uuid.UUID]:
    return list(Record.objects.filter(table__vault=vault).order_by("id").values_list("id", flat=True))


# --- rotation and re-encryption -------------------------------------------------------------------------


def test_a_rotation_makes_new_writes_take_the_new_version_at_once(actor):
    vault, plain = _seed(actor, persons=20, cards=5)
    key = data_key_rotate(actor=actor, vault=vault)

    assert key.version == 2 and key.retired_at is None
    assert active_data_key(vault).version == 2
    written = _seal(vault, active_data_key(vault), "persons", "name", "new-record", "Bea New")
    assert key_version_of_text(written) == 2
    # Old values still read, under the version they were sealed with, until the job moves them.
    assert _assert_readable(vault, plain) == {1: len(plain)}
    job = reencryption_job(vault)
    assert (job.status, job.from_versions, job.to_version, job.records_total) == ("RUNNING", [1], 2, 25)
    (event,) = _events("vault.key.rotate", vault)
    details = json.loads(event.details)
    assert (details["version"], details["previous_version"], details["reencryption_job"]) == (2, 1, job.pk)
    assert event.actor_display == actor.display


def test_batches_reencrypt_every_value_and_every_record_still_reads(actor):
    vault, plain = _seed(actor)
    updated = dict(Record.objects.values_list("id", "updated_at"))
    data_key_rotate(actor=actor, vault=vault)

    assert reencrypt_all(vault=vault, batch_size=64)

    assert _assert_readable(vault, plain) == {2: len(plain)}
    for record in Record.objects.filter(table__vault=vault).select_related("table"):
        # Plain columns and absent/null values are left as they were; re-encryption is not an update.
        assert ("region" in record.data) == (record.table.name == "persons")
        assert record.updated_at == updated[record.id]
    assert _retired(vault) == [1]
    job = reencryption_job(vault)
    assert (job.status, job.records_reencrypted, job.retired_versions, job.error) == ("DONE", 300, [1], "")
    assert job.finished_at is not None
    (done,) = _events("vault.key.reencrypt_done", vault)
    assert json.loads(done.details)["retired_versions"] == [1] and done.record_count == 300


def test_rerunning_is_idempotent(actor):
    vault, plain = _seed(actor, persons=90, cards=10)
    data_key_rotate(actor=actor, vault=vault)
    assert reencrypt_batch(vault=vault, batch_size=40) == (False, 40)
    moved = {r.id: dict(r.data) for r in Record.objects.filter(table__vault=vault)}

    # A batch replayed (say its commit was not seen): the cursor goes back and the same records come again.
    job = reencryption_job(vault)
    job.last_record_id = None
    job.save()
    assert reencrypt_all(vault=vault, batch_size=40)

    first_forty = _ordered_ids(vault)[:40]
    for record in Record.objects.filter(id__in=first_forty):
        assert record.data == moved[record.id]  # already under v2: not sealed again
    assert _assert_readable(vault, plain) == {2: len(plain)}
    final = {r.id: dict(r.data) for r in Record.objects.filter(table__vault=vault)}
    assert reencrypt_batch(vault=vault) == (True, 0)  # nothing running: nothing done
    assert reencrypt_all(vault=vault)
    assert {r.id: dict(r.data) for r in Record.objects.filter(table__vault=vault)} == final
    assert len(_events("vault.key.reencrypt_done", vault)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("crash_point", ["while sealing", "after the records were written"])
def test_a_crash_mid_way_then_a_restart_leaves_every_record_readable_and_finishes(actor, monkeypatch, crash_point):
    vault, plain = _seed(actor)
    data_key_rotate(actor=actor, vault=vault)
    batches = {"n": 0}

    if crash_point == "while sealing":
        real = rotation.reencrypt_record
        calls = {"n": 0}

        def crashing(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2 * 50 + 17:  # in the middle of the 3rd batch
                raise RuntimeError("worker killed")
            return real(*args, **kwargs)

        monkeypatch.setattr(rotation, "reencrypt_record", crashing)
    else:
        real_save = ReencryptionJob.save

        def crashing_save(self, *args, **kwargs):
            # The 3rd batch's records are already updated in its transaction when its cursor moves.
            if "last_record_id" in (kwargs.get("update_fields") or ()):
                batches["n"] += 1
                if batches["n"] == 3:
                    raise RuntimeError("worker killed")
            return real_save(self, *args, **kwargs)

        monkeypatch.setattr(ReencryptionJob, "save", crashing_save)

    with pytest.raises(RuntimeError, match="worker killed"):
        reencrypt_all(vault=vault, batch_size=50)

    # Two batches committed, the third rolled back whole: records and cursor together.
    ids = _ordered_ids(vault)
    counts = _assert_readable(vault, plain)
    moved = sum(1 for (rid, _column) in plain if uuid.UUID(rid) in set(ids[:100]))
    assert counts == {2: moved, 1: len(plain) - moved}
    job = reencryption_job(vault)
    assert (job.status, job.last_record_id, job.records_done) == ("RUNNING", ids[99], 100)
    assert job.error == "RuntimeError while re-encrypting; see the worker log."
    assert _retired(vault) == []
    assert len(_events("vault.key.reencrypt_error", vault)) == 1

    # The restart: a fresh process (no cached keys), the code without the fault.
    monkeypatch.undo()
    get_keyring.cache_clear()
    assert reencrypt_all(vault=vault, batch_size=50)

    assert _assert_readable(vault, plain) == {2: len(plain)}
    job.refresh_from_db()
    assert (job.status, job.error, job.records_reencrypted, job.passes) == ("DONE", "", 300, 1)
    assert _retired(vault) == [1]


def test_a_value_written_behind_the_cursor_with_the_old_key_holds_retirement_back(actor):
    vault, plain = _seed(actor, persons=60, cards=0)
    old = data_keys(vault)[1]
    data_key_rotate(actor=actor, vault=vault)
    assert reencrypt_batch(vault=vault, batch_size=30) == (False, 30)

    # A write that fetched the active key before the rotation committed lands behind the cursor.
    late = Record.objects.filter(table__vault=vault).order_by("id").first()
    late.data["name"] = _seal(vault, old, "persons", "name", late.id, "Late Writer")
    late.save()
    plain[(str(late.id), "name")] = "Late Writer"

    while reencryption_job(vault).passes == 1:
        reencrypt_batch(vault=vault, batch_size=30)
        _assert_readable(vault, plain)  # never retired while the late value is under version 1
    assert _retired(vault) == [] and reencryption_job(vault).status == "RUNNING"

    assert reencrypt_all(vault=vault, batch_size=30)
    assert _assert_readable(vault, plain) == {2: len(plain)}
    assert _retired(vault) == [1]
    assert json.loads(_events("vault.key.reencrypt_done", vault)[0].details)["passes"] == 2


def test_rotating_again_mid_job_retargets_it(actor):
    vault, plain = _seed(actor, persons=80, cards=20)
    data_key_rotate(actor=actor, vault=vault)
    reencrypt_batch(vault=vault, batch_size=40)
    job = reencryption_job(vault)

    data_key_rotate(actor=actor, vault=vault)

    job.refresh_from_db()
    assert (job.from_versions, job.to_version, job.passes, job.last_record_id) == ([1, 2], 3, 2, None)
    assert ReencryptionJob.objects.filter(vault=vault).count() == 1
    assert active_data_key(vault).version == 3
    assert reencrypt_all(vault=vault, batch_size=40)
    assert _assert_readable(vault, plain) == {3: len(plain)}
    assert _retired(vault) == [1, 2]


def test_a_value_that_does_not_open_stops_the_job_and_is_never_overwritten(actor):
    vault, plain = _seed(actor, persons=10, cards=0)
    first, second = Record.objects.filter(table__vault=vault).order_by("id")[:2]
    swapped = {first.id: second.data["name"], second.id: first.data["name"]}
    originals = {first.id: first.data["name"], second.id: second.data["name"]}
    for record in (first, second):
        record.data["name"] = swapped[record.id]
        record.save()
    data_key_rotate(actor=actor, vault=vault)

    for _ in range(2):
        with pytest.raises(CiphertextIntegrityError):
            reencrypt_all(vault=vault, batch_size=5)
    job = reencryption_job(vault)
    assert job.status == "RUNNING" and str(first.id) in job.error and "Ann Example" not in job.error
    for record in Record.objects.filter(id__in=swapped):
        assert record.data["name"] == swapped[record.id]  # reported, not written over
    assert _retired(vault) == []
    assert len(_events("vault.key.reencrypt_error", vault)) == 1  # the same error is audited once

    for record in (first, second):  # restored from a backup
        record.data["name"] = originals[record.id]
        record.save()
    assert reencrypt_all(vault=vault, batch_size=5)
    assert _assert_readable(vault, plain) == {2: len(plain)}


def test_live_token_values_are_resealed_and_their_old_version_retired(actor):
    """Values kept on tokens (the tokenize endpoint's, deterministic ones) move to the new key too;
    an expired token's value is left as it was and holds nothing back."""
    vault, plain = _seed(actor, persons=10, cards=0)
    old = data_keys(vault)[1]
    aads = {t: token_value_aad(str(vault.id), "group", t) for t in ("tok-1", "tok-2")}
    live = seal_text(old, b"x", aad=aads["tok-1"])
    Token.objects.create(token="tok-1", vault=vault, column_group="group", value_sealed=live)
    Token.objects.create(
        token="tok-2",
        vault=vault,
        column_group="group",
        value_sealed=seal_text(old, b"y", aad=aads["tok-2"]),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    data_key_rotate(actor=actor, vault=vault)

    assert reencrypt_all(vault=vault)

    assert _assert_readable(vault, plain) == {2: len(plain)}
    assert reencryption_job(vault).status == "DONE" and _retired(vault) == [1]
    details = json.loads(_events("vault.key.reencrypt_done", vault)[0].details)
    assert details["token_values_resealed"] == 1 and details["kept_for_tokens"] == []
    live = Token.objects.get(token="tok-1").value_sealed
    assert key_version_of_text(live) == 2 and open_text(data_keys(vault)[2], live, aad=aads["tok-1"]) == b"x"
    assert key_version_of_text(Token.objects.get(token="tok-2").value_sealed) == 1  # expired: untouched


def test_a_token_value_that_does_not_open_stops_the_job_and_keeps_its_version(actor):
    vault, _ = _seed(actor, persons=5, cards=0)
    old = data_keys(vault)[1]
    # Sealed for another token: moved here, it does not authenticate.
    moved = seal_text(old, b"x", aad=token_value_aad(str(vault.id), "group", "elsewhere"))
    Token.objects.create(token="tok-1", vault=vault, column_group="group", value_sealed=moved)
    data_key_rotate(actor=actor, vault=vault)
    with pytest.raises(CiphertextIntegrityError):
        reencrypt_all(vault=vault)
    job = reencryption_job(vault)
    assert job.status == "RUNNING" and "does not authenticate" in job.error
    assert _retired(vault) == [] and Token.objects.get(token="tok-1").value_sealed == moved


@pytest.mark.django_db(transaction=True)
def test_a_write_to_a_record_of_the_batch_is_not_lost(actor):
    vault, plain = _seed(actor, persons=20, cards=0)
    old = data_keys(vault)[1]
    data_key_rotate(actor=actor, vault=vault)
    target = Record.objects.filter(table__vault=vault).order_by("id")[5]
    locked = threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                record = Record.objects.select_for_update().get(pk=target.pk)
                record.data["region"] = "moved"
                record.data["name"] = _seal(vault, old, "persons", "name", record.id, "Renamed Person")
                record.save()
                locked.set()
                time.sleep(0.5)  # the batch starts meanwhile and must wait for this commit
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(10)
    assert reencrypt_all(vault=vault, batch_size=50)
    thread.join()

    plain[(str(target.id), "name")] = "Renamed Person"
    assert _assert_readable(vault, plain) == {2: len(plain)}
    assert Record.objects.get(pk=target.pk).data["region"] == "moved"


def test_a_raw_dump_after_rotation_holds_no_plaintext(actor):
    vault, plain = _seed(actor, persons=40, cards=10)
    data_key_rotate(actor=actor, vault=vault)
    assert reencrypt_all(vault=vault, batch_size=16)

    dump = []
    with connection.cursor() as cursor:
        for model in (Record, DataKey, ReencryptionJob, AuditEvent, BlindIndex):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            dump.extend(str(row) for row in cursor.fetchall())
    text = "\n".join(dump)
    assert str(vault.id).replace("-", "") in text.replace("-", "")  # the dump is of the right rows
    leaked = [value for value in set(plain.values()) if value in text]
    assert leaked == []


# --- KEK rotation ---------------------------------------------------------------------------------------


def test_kek_rotation_rewraps_every_key_and_values_and_digests_stay(actor, settings, tmp_path):
    from vaultstudio.master_key import load_master_key

    vault, plain = _seed(actor, persons=30, cards=5)
    other, other_plain = _seed(actor, name="other", persons=5, cards=5)
    data_key_rotate(actor=actor, vault=vault)
    digests = dict(BlindIndex.objects.values_list("record_id", "digest"))
    before = dict(DataKey.objects.values_list("pk", "wrapped_key"))
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"default"}

    settings.VAULTSTUDIO_KEKS = "k2:" + base64.b64encode(b"2" * 32).decode()
    settings.VAULTSTUDIO_ACTIVE_KEK = "k2"
    get_keyring.cache_clear()
    assert kek_rotate(actor=actor, batch_size=2) == 5  # 2 + 1 data keys, 2 index secrets

    rows = list(DataKey.objects.all())
    assert {row.kek_id for row in rows} == {"k2"}
    assert all(row.wrapped_key != before[row.pk] for row in rows)
    events = _events("kek.rotate")
    assert [json.loads(e.details)["batch"] for e in events] == [1, 2, 3]
    assert sum(json.loads(e.details)["data_keys"] + json.loads(e.details)["index_keys"] for e in events) == 5
    assert {k for e in events for k in json.loads(e.details)["from_keks"]} == {"default"}
    assert all(json.loads(e.details)["to_kek"] == "k2" for e in events)

    # The old KEK can go: every key opens under k2 alone, values and blind indexes unchanged.
    settings.VAULTSTUDIO_MASTER_KEY = ""
    settings.VAULTSTUDIO_MASTER_KEY_FILE = str(tmp_path / "absent.key")
    load_master_key.cache_clear()
    get_keyring.cache_clear()
    assert _assert_readable(vault, plain) == {1: len(plain)}
    assert _assert_readable(other, other_plain) == {1: len(other_plain)}
    ikey = index_key(vault)
    for record in Record.objects.filter(table__vault=vault, table__name="persons"):
        ssn = plain[(str(record.id), "ssn")]
        assert blind_index(ikey, table="persons", column="ssn", data_type="ssn", value=ssn) == digests[record.id]
    assert reencrypt_all(vault=vault)  # and re-encryption works on the rewrapped keys
    assert _assert_readable(vault, plain) == {2: len(plain)}

    assert kek_rotate(actor=actor) == 0  # nothing left to re-wrap; the run is still on record
    assert json.loads(_events("kek.rotate")[-1].details)["data_keys"] == 0


# --- Celery tasks ---------------------------------------------------------------------------------------


def test_the_celery_task_run_eagerly_finishes_a_job(actor):
    vault, plain = _seed(actor, persons=100, cards=20)
    data_key_rotate(actor=actor, vault=vault)

    result = reencrypt_vault.apply(args=[str(vault.id)], kwargs={"batch_size": 25, "max_batches": 1})

    assert result.successful(), result.traceback
    assert result.get()["done"] and result.get()["records_reencrypted"] == 120
    assert reencryption_job(vault).status == "DONE"
    assert _assert_readable(vault, plain) == {2: len(plain)}
    assert len(_events("vault.key.reencrypt_done", vault)) == 1


def test_the_task_on_a_worker_queues_itself_again_until_done(actor, monkeypatch):
    vault, plain = _seed(actor, persons=40, cards=0)
    data_key_rotate(actor=actor, vault=vault)
    queued = []
    monkeypatch.setattr(reencrypt_vault, "apply_async", lambda *args, **kwargs: queued.append((args, kwargs)))

    first = reencrypt_vault.run(str(vault.id), batch_size=10, max_batches=2)

    assert not first["done"] and first["records_done"] == 20
    assert queued == [((), {"args": (str(vault.id),), "kwargs": {"batch_size": 10, "max_batches": 2}})]
    while not reencrypt_vault.run(str(vault.id), batch_size=10, max_batches=2)["done"]:
        pass
    assert _assert_readable(vault, plain) == {2: len(plain)}
    assert reencrypt_vault.run(str(uuid.uuid4()))["done"]  # a deleted vault: nothing to do


def test_rotation_due_rotates_vaults_past_their_period_and_queues_reencryption(actor, monkeypatch):
    due, plain = _seed(actor, name="due", persons=10, cards=0)
    fresh = vault_create(actor=actor, name="fresh")
    Vault.objects.filter(pk=due.pk).update(rotation_period_days=30)
    DataKey.objects.filter(vault=due).update(created_at=timezone.now() - timedelta(days=31))
    queued = []
    monkeypatch.setattr(reencrypt_vault, "delay", lambda vault_id, **kwargs: queued.append(vault_id))

    assert rotation_due.apply().get() == [str(due.id)]

    assert queued == [str(due.id)]
    assert active_data_key(due).version == 2 and active_data_key(fresh).version == 1
    (event,) = _events("vault.key.rotate", due)
    assert (event.actor_type, event.actor_display) == ("SYSTEM", "key-rotation")
    # Its job is running: the next beat leaves the vault alone even though version 1 is still old.
    assert rotation_due.apply().get() == []
    assert reencrypt_all(vault=due)
    assert _assert_readable(due, plain) == {2: len(plain)}


def test_the_tasks_are_registered_under_their_names():
    from vaultstudio.celery import app

    for task in (reencrypt_vault, reencrypt_stalled, rotation_due):
        assert task.name.startswith("vaults.tasks.") and task.name in app.tasks


def test_stalled_jobs_are_queued_again(actor, monkeypatch):
    stalled = vault_create(actor=actor, name="stalled")
    busy = vault_create(actor=actor, name="busy")
    data_key_rotate(actor=actor, vault=stalled)
    data_key_rotate(actor=actor, vault=busy)
    ReencryptionJob.objects.filter(vault=stalled).update(updated_at=timezone.now() - timedelta(minutes=11))
    queued = []
    monkeypatch.setattr(reencrypt_vault, "delay", lambda vault_id, **kwargs: queued.append(vault_id))

    assert reencrypt_stalled.apply().get() == [str(stalled.id)] == queued


# --- management commands --------------------------------------------------------------------------------


def test_rotate_vault_key_command(actor, monkeypatch):
    vault, plain = _seed(actor, persons=50, cards=10)
    out = StringIO()
    call_command("rotate_vault_key", vault.name, "--reencrypt", "--batch-size", "25", stdout=out)
    text = out.getvalue()
    assert "data key version 2 now seals every new write" in text
    assert "60 record(s) to examine" in text and "pass 1: 25/60 examined, 25 re-encrypted" in text
    assert "Done: 60 record(s) re-encrypted onto version 2; retired versions: 1." in text
    assert _assert_readable(vault, plain) == {2: len(plain)}

    queued = []
    monkeypatch.setattr(reencrypt_vault, "delay", lambda vault_id, **kwargs: queued.append(vault_id))
    out = StringIO()
    call_command("rotate_vault_key", str(vault.id), stdout=out)
    assert "Queued for the Celery worker" in out.getvalue() and queued == [str(vault.id)]
    out = StringIO()
    call_command("rotate_vault_key", str(vault.id), "--resume", stdout=out)
    assert "onto version 3; retired versions: 2." in out.getvalue()
    out = StringIO()
    call_command("rotate_vault_key", vault.name, "--resume", stdout=out)
    assert "has no re-encryption running" in out.getvalue()

    with pytest.raises(CommandError, match="No vault with the id or name 'nope'"):
        call_command("rotate_vault_key", "nope")


def test_rotate_vault_key_command_says_how_to_resume_after_a_failure(actor, monkeypatch):
    vault, plain = _seed(actor, persons=30, cards=0)

    def failing(*args, **kwargs):
        raise CiphertextIntegrityError("Column persons.name of record r1 does not open.")

    monkeypatch.setattr(rotation, "reencrypt_record", failing)
    with pytest.raises(CommandError, match="Re-encryption stopped: Column persons.name of record r1.*--resume"):
        call_command("rotate_vault_key", vault.name, "--reencrypt", stdout=StringIO())
    monkeypatch.undo()
    out = StringIO()
    call_command("rotate_vault_key", vault.name, "--resume", stdout=out)
    assert "retired versions: 1." in out.getvalue()
    assert _assert_readable(vault, plain) == {2: len(plain)}


def test_rotate_kek_command(actor, settings):
    vault, plain = _seed(actor, persons=5, cards=0)
    settings.VAULTSTUDIO_KEKS = "k2:" + base64.b64encode(b"2" * 32).decode()
    settings.VAULTSTUDIO_ACTIVE_KEK = "k2"
    get_keyring.cache_clear()
    out = StringIO()
    call_command("rotate_kek", stdout=out)
    assert "2 key(s) re-wrapped; every key is now wrapped by KEK k2." in out.getvalue()
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"k2"}
    assert _assert_readable(vault, plain) == {1: len(plain)}
