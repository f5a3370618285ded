"""``manage.py rotate_kek``: re-wrap every vault key under the key provider's active KEK."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.actors import Actor
from vaults.crypto.config import get_keyring
from vaults.rotation import DEFAULT_KEK_BATCH_SIZE, kek_rotate


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Re-wrap every data key and blind-index secret under the active KEK (VAULTSTUDIO_ACTIVE_KEK, or the "
        "KMS key). Values are not touched. Keep the old KEK configured until this has run; it resumes if "
        "interrupted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=DEFAULT_KEK_BATCH_SIZE,
            help=f"Keys per transaction (default {DEFAULT_KEK_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = kek_rotate(actor=Actor.cli("manage.py rotate_kek"), batch_size=options["batch_size"])
        target = get_keyring().provider.active_kek_id
        self.stdout.write(self.style.SUCCESS(f"{count} key(s) re-wrapped; every key is now wrapped by KEK {target}."))
