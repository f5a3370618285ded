"""``manage.py rotate_vault_key VAULT``: a new data key version for a vault, and re-encryption onto it."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from vaults.models import ReencryptionJob, Vault
from vaults.rotation import DEFAULT_BATCH_SIZE, data_key_rotate, reencrypt_all, reencryption_job


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Add a new data key version to a vault (every new write uses it at once) and re-encrypt existing "
        "records onto it: here with --reencrypt, otherwise by the Celery worker. --resume continues a "
        "re-encryption that stopped (a crash, an error) without creating another key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("vault", help="The vault's id or name.")
        parser.add_argument("--reencrypt", action="store_true", help="Re-encrypt here, printing progress.")
        parser.add_argument(
            "--resume", action="store_true", help="Do not rotate: continue the vault's running re-encryption here."
        )
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=DEFAULT_BATCH_SIZE,
            help=f"Records per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        vault = self._vault(options["vault"])
        if not options["resume"]:
            key = data_key_rotate(actor=Actor.cli("manage.py rotate_vault_key"), vault=vault)
            self.stdout.write(f"Vault {vault.name}: data key version {key.version} now seals every new write.")
        job = reencryption_job(vault)
        if job is None or job.status != ReencryptionJob.RUNNING:
            self.stdout.write(f"Vault {vault.name} has no re-encryption running.")
            return
        self.stdout.write(
            f"Re-encryption job {job.pk}: versions {job.from_versions} -> {job.to_version}, "
            f"{job.records_total} record(s) to examine."
        )
        if options["reencrypt"] or options["resume"]:
            self._reencrypt(vault, options["batch_size"])
        else:
            self._enqueue(vault, options["batch_size"])

    def _vault(self, name_or_id: str) -> Vault:
        try:
            vault = Vault.objects.filter(pk=uuid.UUID(name_or_id)).first()
        except ValueError:
            vault = Vault.objects.filter(name=name_or_id).first()
        if vault is None:
            raise CommandError(f"No vault with the id or name {name_or_id!r}.")
        return vault

    def _reencrypt(self, vault: Vault, batch_size: int) -> None:
        def progress(job: ReencryptionJob | None) -> None:
            if job is not None and job.status == ReencryptionJob.RUNNING:
                self.stdout.write(
                    f"  pass {job.passes}: {job.records_done}/{job.records_total} examined, "
                    f"{job.records_reencrypted} re-encrypted"
                )

        try:
            reencrypt_all(vault=vault, batch_size=batch_size, on_batch=progress)
        except Exception as exc:
            job = reencryption_job(vault)
            where = f" after record {job.last_record_id}" if job and job.last_record_id else ""
            raise CommandError(
                f"Re-encryption stopped{where}: {job.error if job and job.error else type(exc).__name__}. "
                "Every record is still readable; fix the cause and run again with --resume."
            ) from exc
        job = reencryption_job(vault)
        assert job is not None  # reencrypt_all only returns once the job it ran is DONE
        retired = ", ".join(str(v) for v in job.retired_versions) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {job.records_reencrypted} record(s) re-encrypted onto version {job.to_version}; "
                f"retired versions: {retired}."
            )
        )

    def _enqueue(self, vault: Vault, batch_size: int) -> None:
        from vaults.tasks import reencrypt_vault

        try:
            reencrypt_vault.delay(str(vault.id), batch_size=batch_size)
        except Exception as exc:  # the broker is down: the key is rotated anyway, and beat resumes the job
            self.stderr.write(
                f"Could not queue the re-encryption ({type(exc).__name__}); the worker's "
                "vaults.tasks.reencrypt_stalled picks it up within minutes, or run with --resume."
            )
            return
        self.stdout.write("Queued for the Celery worker (vaults.tasks.reencrypt_vault).")
