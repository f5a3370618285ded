"""``manage.py rewrap_totp_secrets --previous-key-file PATH``: after the master key has changed,
seal every person's TOTP secret again under the new one (they are sealed under the master key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.mfa.services import totp_secrets_rewrap
from audit.actors import Actor
from vaultstudio.master_key import decode_master_key


class Command(BaseCommand):
    help = (
        "Re-seal the TOTP secrets sealed under the previous master key with the configured one "
        "(VAULTSTUDIO_MASTER_KEY / _FILE). Run it right after changing the master key; it is idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--previous-key-file",
            required=True,
            help="A file holding the previous master key (base64 of 32 bytes, as VAULTSTUDIO_MASTER_KEY_FILE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["previous_key_file"])
        try:
            previous = decode_master_key(path.read_text(), f"The previous master key file {path}")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        result = totp_secrets_rewrap(actor=Actor.cli("manage.py rewrap_totp_secrets"), previous_master_key=previous)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.rewrapped)} TOTP secret(s) re-sealed under the current master key; "
                f"{len(result.current)} already were."
            )
        )
        if result.unreadable:
            self.stderr.write(
                self.style.WARNING(
                    f"{len(result.unreadable)} device(s) open under neither key (ids {result.unreadable}): "
                    "their people must sign in with a passkey or a backup code and add their app again."
                )
            )
