"""``manage.py rotate_signing_key``: VaultStudio signs new access tokens with a fresh ES256 key.

The previous key keeps verifying (and stays in /.well-known/jwks.json) until every token it signed
has expired.
"""

from typing import Any

from django.core.management.base import BaseCommand

from accounts.signing import signing_key_rotate
from audit.actors import Actor


class Command(BaseCommand):
    help = "Rotate the access-token signing key (old tokens stay valid until they expire)."

    def handle(self, *args: Any, **options: Any) -> None:
        key = signing_key_rotate(actor=Actor.cli("manage.py rotate_signing_key"))
        self.stdout.write(self.style.SUCCESS(f"New signing key {key.kid} is active."))
