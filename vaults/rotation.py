"""Key rotation services (DESIGN.md §7): new data-key versions, the resumable re-encryption job, KEK rotation.

* ``data_key_rotate`` adds data key version N+1; new writes take it at once (the active key is the
  newest one not retired) and a ``ReencryptionJob`` is opened (or retargeted) to move old values onto it.
* ``reencrypt_batch`` moves the next batch of records, by id after the job's cursor, and advances the
  cursor in the same transaction: a crash loses at most the uncommitted batch, and replaying it is
  harmless because values already under the new version are left as they are. When the cursor runs
  out, a scan of every stored value decides what may be retired; a value written behind the cursor
  with an older key starts another pass instead.
* ``kek_rotate`` re-wraps every stored key (data and index) under the keyring's active KEK. Values are
  not touched, and blind-index digests stay the same (the index secret itself does not change).

Retired keys still open old values (``vaults.keys.data_keys`` returns every version): retiring only
takes a key out of use for writes, so no step here can make a record unreadable.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_append
from policies.services import bump_policy_version
from vaultstudio.errors import Conflict

from .crypto.config import get_keyring
from .crypto.envelope import DataKeyMaterial, is_sealed_text, key_version_of_text, open_text, seal_text
from .crypto.errors import CiphertextIntegrityError
from .crypto.keyring import StoredDataKey, StoredIndexKey
from .crypto.rotation import needs_reencryption, reencrypt_record
from .keys import DATA, INDEX, data_keys, token_value_aad
from .models import Column, DataKey, Record, ReencryptionJob, Token, Vault

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_KEK_BATCH_SIZE = 200
# A running job not advanced for this long has lost its worker (crash, lost message): resume it.
STALLED_AFTER = timedelta(minutes=10)
_SYSTEM_ACTOR = Actor.system("key-rotation")

# Lock order, the same everywhere so that two of these never deadlock: vault row, then the vault's
# running job, then records or data-key rows.


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _encrypted_columns(vault: Vault) -> dict[int, tuple[str, list[str]]]:
    """``{table id: (table name, its encrypted column names)}`` for the tables that have any."""
    tables: dict[int, tuple[str, list[str]]] = {}
    for table_id, table_name, column in (
        Column.objects.filter(table__vault=vault, encrypted=True)
        .order_by("table_id", "position", "name")
        .values_list("table_id", "table__name", "name")
    ):
        tables.setdefault(table_id, (table_name, []))[1].append(column)
    return tables


def _records_of(tables: Iterable[int]) -> QuerySet[Record]:
    # By table id, not through a join to Table: SELECT … FOR UPDATE on a join would lock the tables too.
    return Record.objects.filter(table_id__in=list(tables))


def _running_job(vault: Vault, *, lock: bool) -> ReencryptionJob | None:
    jobs = ReencryptionJob.objects.filter(vault=vault, status=ReencryptionJob.RUNNING)
    return (jobs.select_for_update() if lock else jobs).first()


def reencryption_job(vault: Vault) -> ReencryptionJob | None:
    """The vault's latest re-encryption job (the running one, if any): its progress for the studio and CLI."""
    return ReencryptionJob.objects.filter(vault=vault).order_by("-started_at", "-pk").first()


# --- data key rotation ----------------------------------------------------------------------------------


def data_key_rotate(*, actor: Actor, vault: Vault) -> DataKey:
    """Add the vault's next data key version; every write from now on is sealed with it.

    Opens a ``ReencryptionJob`` from the older unretired versions to the new one, or, if one is still
    running, retargets it at the new version and restarts its pass (values it already moved are under
    a version that is now old too).
    """
    keyring = get_keyring()
    with transaction.atomic():
        # Serializes rotations of one vault: two at once would both pick version N+1.
        Vault.objects.select_for_update().filter(pk=vault.pk).first()
        job = _running_job(vault, lock=True)
        rows = DataKey.objects.filter(vault=vault, purpose=DATA)
        newest = rows.order_by("-version").first()
        previous = rows.filter(retired_at__isnull=True).order_by("-version").values_list("version", flat=True).first()
        version = (newest.version if newest else 0) + 1
        generated = keyring.generate_data_key(vault_id=str(vault.id), version=version)
        key = DataKey.objects.create(
            vault=vault, purpose=DATA, version=version, wrapped_key=_b64(generated.wrapped), kek_id=generated.kek_id
        )
        bump_policy_version()  # workers keep key rows under that version: new writes take the new key
        older = list(
            rows.filter(version__lt=version, retired_at__isnull=True)
            .order_by("version")
            .values_list("version", flat=True)
        )
        total = _records_of(_encrypted_columns(vault)).count()
        if job is None:
            job = ReencryptionJob.objects.create(
                vault=vault, from_versions=older, to_version=version, records_total=total
            )
        else:
            job.from_versions = sorted(set(job.from_versions) | set(older))
            job.to_version = version
            _restart_pass(job, total)
            job.save()
        audit_append(
            actor=actor,
            action="vault.key.rotate",
            resource_type="VAULT",
            resource_ids=[str(vault.id)],
            vault_id=str(vault.id),
            details={
                "version": version,
                "previous_version": previous,
                "kek_id": generated.kek_id,
                "reencryption_job": job.pk,
                "reencrypt_from": job.from_versions,
                "records": total,
            },
        )
    return key


def _restart_pass(job: ReencryptionJob, total: int) -> None:
    job.last_record_id = None
    job.passes += 1
    job.records_done = 0
    job.records_total = total
    job.error = ""


def data_keys_rotate_due(*, actor: Actor, now: datetime | None = None) -> list[Vault]:
    """Rotate every vault whose active data key is older than its ``rotation_period_days``.

    Automatic rotation rather than a reminder: rotating is safe at any time (no record becomes
    unreadable) and keeps each key far below AES-GCM's random-nonce limit, so waiting for a person
    buys nothing. Vaults still re-encrypting after their previous rotation are left until that job is
    done. One vault failing (a KMS outage, say) is logged and does not stop the others.
    """
    now = now or timezone.now()
    due: list[Vault] = []
    vaults = (
        Vault.objects.exclude(reencryption_jobs__status=ReencryptionJob.RUNNING)
        .annotate(
            active_since=Max(
                "data_keys__created_at", filter=Q(data_keys__purpose=DATA, data_keys__retired_at__isnull=True)
            )
        )
        .order_by("pk")
    )
    for vault in vaults:
        if vault.active_since is not None and vault.active_since > now - timedelta(days=vault.rotation_period_days):
            continue
        try:
            data_key_rotate(actor=actor, vault=vault)
        except Exception:
            logger.exception("Scheduled data key rotation of vault %s failed; the next run retries it.", vault.pk)
            continue
        due.append(vault)
    return due


# --- re-encryption --------------------------------------------------------------------------------------


def reencrypt_batch(*, vault: Vault, batch_size: int = DEFAULT_BATCH_SIZE) -> tuple[bool, int]:
    """Re-encrypt the next ``batch_size`` records of the vault's running job; ``(done, records examined)``.

    ``done`` is True when the vault has no running job left (it finished in this call, or there was
    none). A failure rolls the whole batch back (records and cursor together), is written to the job's
    ``error`` and audited once, and is raised again.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
    try:
        with transaction.atomic():
            job = _running_job(vault, lock=True)
            if job is None:
                return True, 0
            tables = _encrypted_columns(vault)
            query = _records_of(tables).select_for_update().order_by("id").only("id", "table_id", "data")
            if job.last_record_id is not None:
                query = query.filter(id__gt=job.last_record_id)
            records = list(query[:batch_size])
            if not records:
                return _pass_end(job, vault, tables), 0
            keys = data_keys(vault)
            new_key = keys.get(job.to_version)
            if new_key is None:
                raise Conflict(
                    f"Re-encryption job {job.pk} targets data key version {job.to_version}, which vault "
                    f"{vault.name} does not have; rotate the vault's key again to retarget it."
                )
            changed = _reencrypt(vault, tables, records, keys, new_key)
            if changed:
                # bulk_update, not save(): updated_at stays what it was, since no value changed.
                Record.objects.bulk_update(changed, ["data"])
            job.last_record_id = records[-1].id
            job.records_done += len(records)
            job.records_reencrypted += len(changed)
            job.error = ""
            job.save(update_fields=["last_record_id", "records_done", "records_reencrypted", "error", "updated_at"])
        return False, len(records)
    except Exception as exc:
        _record_failure(vault, exc)
        raise


def _reencrypt(
    vault: Vault,
    tables: dict[int, tuple[str, list[str]]],
    records: list[Record],
    keys: dict[int, DataKeyMaterial],
    new_key: DataKeyMaterial,
) -> list[Record]:
    def key_for_version(version: int) -> DataKeyMaterial:
        try:
            return keys[version]
        except KeyError:
            raise CiphertextIntegrityError(
                f"A value of vault {vault.name} names data key version {version}, which the vault does not "
                "have: it was altered or copied from another vault. Restore it from a backup."
            ) from None

    changed = []
    vault_id = str(vault.id)
    for record in records:
        table, columns = tables[record.table_id]
        if not needs_reencryption(record.data, columns=columns, new_version=new_key.version):
            continue
        record.data = reencrypt_record(
            record.data,
            vault_id=vault_id,
            table=table,
            record_id=str(record.id),
            columns=columns,
            key_for_version=key_for_version,
            new_key=new_key,
        )
        changed.append(record)
    return changed


def _pass_end(job: ReencryptionJob, vault: Vault, tables: dict[int, tuple[str, list[str]]]) -> bool:
    """The cursor ran out: retire what no value uses any more and finish, or start another pass."""
    # Locked before the scan, so two passes never retire at once. Writers take no lock on key rows
    # (they seal with the active key kept per process under the version key): a value sealed with
    # an older key that lands behind the cursor is found by the scan below (another pass), and a
    # retired key still opens values until none is left under it (vaults.keys.data_keys).
    candidates = list(
        DataKey.objects.select_for_update()
        .filter(vault=vault, purpose=DATA, version__lt=job.to_version, retired_at__isnull=True)
        .order_by("pk")
    )
    in_records = _record_versions(tables)
    behind = sorted(v for v in in_records if v != job.to_version)
    if behind:
        # Writes raced in behind the cursor with an older key (sealed before the rotation committed):
        # another pass picks them up. Nothing is retired until a scan finds no value under it.
        logger.info(
            "Re-encryption job %s: %s value(s) under versions %s were written behind the cursor; starting pass %s.",
            job.pk,
            sum(in_records[v] for v in behind),
            behind,
            job.passes + 1,
        )
        _restart_pass(job, _records_of(tables).count())
        job.save()
        return False
    resealed = _reseal_token_values(vault, job.to_version)
    in_tokens = _token_versions(vault)
    retired = [row for row in candidates if row.version not in in_tokens]
    now = timezone.now()
    DataKey.objects.filter(pk__in=[row.pk for row in retired]).update(retired_at=now)
    if retired:
        bump_policy_version()  # workers keep key rows under that version: none may seal with these now
    job.status = ReencryptionJob.DONE
    job.finished_at = now
    job.retired_versions = [row.version for row in retired]
    job.save()
    audit_append(
        actor=_SYSTEM_ACTOR,
        action="vault.key.reencrypt_done",
        resource_type="VAULT",
        resource_ids=[str(vault.id)],
        vault_id=str(vault.id),
        record_count=job.records_reencrypted,
        details={
            "reencryption_job": job.pk,
            "to_version": job.to_version,
            "from_versions": job.from_versions,
            "retired_versions": job.retired_versions,
            # Values of tokens from the tokenize endpoint, re-sealed here; a version that still
            # seals one (a value that would not open) is kept.
            "token_values_resealed": resealed,
            "kept_for_tokens": sorted(v for v in in_tokens if v < job.to_version),
            "records_reencrypted": job.records_reencrypted,
            "passes": job.passes,
        },
    )
    return True


def _record_versions(tables: dict[int, tuple[str, list[str]]]) -> Counter[int]:
    """How many stored values each data key version seals, over every record of the tables (a scan)."""
    versions: Counter[int] = Counter()
    rows = _records_of(tables).values_list("id", "table_id", "data")
    for record_id, table_id, data in rows.iterator(chunk_size=2000):
        table, columns = tables[table_id]
        for column in columns:
            value = data.get(column)
            if value is None:
                continue
            if not isinstance(value, str):
                raise CiphertextIntegrityError(
                    f"Column {table}.{column} of record {record_id} is encrypted but holds a plain "
                    f"{type(value).__name__}: it was written around vaults.crypto."
                )
            versions[key_version_of_text(value)] += 1
    return versions


def _reseal_token_values(vault: Vault, to_version: int, chunk: int = 2000) -> int:
    """Re-seal under ``to_version`` the values of the vault's unexpired tokens made by the tokenize
    endpoint (a token's value is sealed on the token, not in a record); how many were. In the pass
    end's transaction, in chunks: bounded memory, and idempotent if the transaction is replayed.
    A value that does not open stops the job like a record's (``_record_failure``)."""
    keys = data_keys(vault)
    new_key = keys[to_version]
    vault_id = str(vault.id)
    live = Token.objects.filter(vault=vault).exclude(value_sealed="")
    live = live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    changed: list[Token] = []
    count = 0
    for token in live.only("token", "column_group", "value_sealed").order_by("token").iterator(chunk_size=chunk):
        if not is_sealed_text(token.value_sealed):
            continue
        version = key_version_of_text(token.value_sealed)
        if version == to_version:
            continue
        old_key = keys.get(version)
        if old_key is None:
            raise CiphertextIntegrityError(
                f"A token value of vault {vault.name} names data key version {version}, which the vault does "
                "not have: it was altered or copied from another vault. Restore it from a backup."
            )
        aad = token_value_aad(vault_id, token.column_group, token.token)
        token.value_sealed = seal_text(new_key, open_text(old_key, token.value_sealed, aad=aad), aad=aad)
        changed.append(token)
        if len(changed) >= chunk:
            Token.objects.bulk_update(changed, ["value_sealed"])
            count += len(changed)
            changed = []
    Token.objects.bulk_update(changed, ["value_sealed"])
    return count + len(changed)


def _token_versions(vault: Vault) -> set[int]:
    """Versions still sealing the values of unexpired tokens made by the tokenize endpoint."""
    live = Token.objects.filter(vault=vault).exclude(value_sealed="")
    live = live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    versions = set()
    for sealed in live.values_list("value_sealed", flat=True).iterator(chunk_size=2000):
        if is_sealed_text(sealed):
            try:
                versions.add(key_version_of_text(sealed))
            except CiphertextIntegrityError:
                continue  # unreadable anyway; detokenizing it reports the integrity error
    return versions


def _record_failure(vault: Vault, exc: Exception) -> None:
    """Keep why the batch failed on the job (and audit it once per distinct error), after the rollback."""
    if isinstance(exc, CiphertextIntegrityError | Conflict):
        message = str(exc)
    else:
        # Other errors (a database error, say) may quote what they were given: only the type is kept.
        message = f"{type(exc).__name__} while re-encrypting; see the worker log."
    try:
        with transaction.atomic():
            job = _running_job(vault, lock=True)
            if job is None or job.error == message[:2000]:
                return
            job.error = message[:2000]
            job.save(update_fields=["error", "updated_at"])
            audit_append(
                actor=_SYSTEM_ACTOR,
                action="vault.key.reencrypt_error",
                resource_type="VAULT",
                resource_ids=[str(vault.id)],
                vault_id=str(vault.id),
                details={"reencryption_job": job.pk, "error": job.error, "resume_after": str(job.last_record_id)},
            )
    except DatabaseError:
        logger.exception("Could not record the failure of re-encryption job of vault %s.", vault.pk)


def reencrypt_all(
    *,
    vault: Vault,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batches: int | None = None,
    on_batch: Callable[[ReencryptionJob | None], None] | None = None,
) -> bool:
    """Run batches until the vault's job is done (True) or ``max_batches`` ran (False: call again).

    ``on_batch`` gets the job after each batch, for progress output.
    """
    batches = 0
    while max_batches is None or batches < max_batches:
        done, _ = reencrypt_batch(vault=vault, batch_size=batch_size)
        batches += 1
        if on_batch is not None:
            on_batch(reencryption_job(vault))
        if done:
            return True
    return False


def reencryption_stalled_vault_ids(*, idle_for: timedelta = STALLED_AFTER) -> list[uuid.UUID]:
    """Vaults whose running job has not advanced for ``idle_for``: its worker died or its message was lost."""
    return list(
        ReencryptionJob.objects.filter(status=ReencryptionJob.RUNNING, updated_at__lte=timezone.now() - idle_for)
        .order_by("updated_at")
        .values_list("vault_id", flat=True)
    )


# --- KEK rotation ---------------------------------------------------------------------------------------


def kek_rotate(*, actor: Actor, batch_size: int = DEFAULT_KEK_BATCH_SIZE) -> int:
    """Re-wrap every stored data and index key not yet under the keyring's active KEK; the number re-wrapped.

    Each batch is saved and audited (``kek.rotate``) in its own transaction, so a failure (an old KEK
    no longer configured, a KMS error) keeps the batches before it, and running it again resumes.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
    keyring = get_keyring()
    target = keyring.provider.active_kek_id
    total = batches = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                DataKey.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .exclude(kek_id=target)
                .order_by("pk")[:batch_size]
            )
            if not rows and batches:
                return total
            from_keks = Counter(row.kek_id for row in rows)
            purposes = Counter(row.purpose for row in rows)
            for row in rows:
                wrapped = base64.b64decode(row.wrapped_key)
                if row.purpose == INDEX:
                    new = keyring.rewrap_index_key(StoredIndexKey(str(row.vault_id), row.kek_id, wrapped))
                else:
                    new = keyring.rewrap_data_key(StoredDataKey(str(row.vault_id), row.version, row.kek_id, wrapped))
                row.kek_id, row.wrapped_key = new.kek_id, _b64(new.wrapped)
            DataKey.objects.bulk_update(rows, ["kek_id", "wrapped_key"])
            if rows:
                bump_policy_version()  # workers keep key rows (wrapped keys) under that version
            # Written even when nothing needed re-wrapping, so that the run itself is on record.
            audit_append(
                actor=actor,
                action="kek.rotate",
                resource_type="DATA_KEY",
                resource_ids=[str(row.pk) for row in rows],
                details={
                    "to_kek": target,
                    "from_keks": dict(sorted(from_keks.items())),
                    "data_keys": purposes[DATA],
                    "index_keys": purposes[INDEX],
                    "vaults": sorted({str(row.vault_id) for row in rows}),
                    "batch": batches + 1,
                },
            )
            if not rows:
                return total
            total += len(rows)
            batches += 1
            last_pk = rows[-1].pk
