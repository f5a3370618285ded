"""Celery tasks of the vaults app: thin shells around ``vaults.rotation`` (DESIGN.md §12).

Beat runs ``rotation_due`` (rotate vaults whose key is older than their rotation period) and
``reencrypt_stalled`` (resume jobs whose worker died); ``reencrypt_vault`` does the batches.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from audit.actors import Actor

from .models import Vault
from .rotation import (
    DEFAULT_BATCH_SIZE,
    data_keys_rotate_due,
    reencrypt_all,
    reencryption_job,
    reencryption_stalled_vault_ids,
)

# Batches per task run: long enough to be efficient, short enough that a worker restart or a deploy
# never waits long for it, and that other vaults' tasks get their turn in between.
MAX_BATCHES_PER_RUN = 100


@shared_task(
    bind=True,
    name="vaults.tasks.reencrypt_vault",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def reencrypt_vault(
    self: Any, vault_id: str, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int = MAX_BATCHES_PER_RUN
) -> dict[str, Any]:
    """Re-encrypt up to ``max_batches`` batches of the vault's running job, then queue itself again until done.

    Run eagerly (``.apply()``, ``CELERY_TASK_ALWAYS_EAGER``) there is no worker to queue to, so it runs
    to the end in this process.
    """
    vault = Vault.objects.filter(pk=vault_id).first()
    if vault is None:
        return {"vault": vault_id, "done": True, "status": "vault deleted"}  # its job went with it
    bound = None if self.request.is_eager else max_batches
    done = reencrypt_all(vault=vault, batch_size=batch_size, max_batches=bound)
    if not done:
        self.apply_async(args=(vault_id,), kwargs={"batch_size": batch_size, "max_batches": max_batches})
    job = reencryption_job(vault)
    return {
        "vault": vault_id,
        "done": done,
        "job": job.pk if job else None,
        "records_done": job.records_done if job else 0,
        "records_reencrypted": job.records_reencrypted if job else 0,
    }


@shared_task(name="vaults.tasks.reencrypt_stalled")
def reencrypt_stalled() -> list[str]:
    """Beat: queue ``reencrypt_vault`` for running jobs that stopped advancing (their worker crashed)."""
    vault_ids = [str(vault_id) for vault_id in reencryption_stalled_vault_ids()]
    for vault_id in vault_ids:
        reencrypt_vault.delay(vault_id)
    return vault_ids


@shared_task(name="vaults.tasks.rotation_due")
def rotation_due() -> list[str]:
    """Beat: rotate the data key of every vault past its ``rotation_period_days``, then re-encrypt it."""
    rotated = [str(vault.pk) for vault in data_keys_rotate_due(actor=Actor.system("key-rotation"))]
    for vault_id in rotated:
        reencrypt_vault.delay(vault_id)
    return rotated
