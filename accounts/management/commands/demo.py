"""``manage.py demo``: seed what a first look at VaultStudio needs (idempotent).

Today that is a service account bound to AUDITOR, with its credentials.json written to
``var/demo/`` so the token endpoint and the audit API can be tried at once. The data-plane demo
vault arrives with the vaults app.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import ServiceAccount, ServiceAccountKey
from accounts.services import service_account_create, service_account_key_generate, token_uri
from audit.actors import Actor
from policies.models import AUDITOR, Role, RoleBinding
from policies.services import binding_create

DEMO_ACCOUNTS = [("demo-auditor", "Demo: reads the audit log (AUDITOR).", AUDITOR)]


class Command(BaseCommand):
    help = "Seed demo service accounts and write their credentials files to var/demo/ (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", default=str(Path(settings.VAR_DIR) / "demo"), help="Where to write credentials.")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        actor = Actor.cli("manage.py demo")
        for name, description, role_name in DEMO_ACCOUNTS:
            path = out / f"{name}-credentials.json"
            with transaction.atomic():
                account = ServiceAccount.objects.filter(name=name).first()
                if account is None:
                    account = service_account_create(actor=actor, name=name, description=description)
                role = Role.objects.get(name=role_name)
                if not RoleBinding.objects.filter(role=role, service_account=account).exists():
                    binding_create(actor=actor, role=role, service_account=account)
                usable = ServiceAccountKey.objects.filter(
                    service_account=account, revoked_at__isnull=True, expires_at__gt=timezone.now()
                )
                existing = json.loads(path.read_text()) if path.exists() else {}
                if usable.filter(key_id=existing.get("keyID") or None).exists():
                    if existing.get("tokenURI") != token_uri():  # the server moved (another port)
                        existing["tokenURI"] = token_uri()
                        path.write_text(json.dumps(existing, indent=2))
                    self.stdout.write(f"{name}: ready, credentials in {path}")
                    continue
                _, credentials = service_account_key_generate(actor=actor, account=account)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(credentials, handle, indent=2)
            self.stdout.write(self.style.SUCCESS(f"{name}: created, credentials written to {path}"))
