"""``manage.py demo``: seed what a first look at VaultStudio needs (idempotent).

- a vault ``demo`` with a ``persons`` table (name, email, ssn, card_number, region, vip), a few
  made-up people in it;
- two policies and roles: ``demo-plain`` (read everything in plain text, write, detokenize) and
  ``demo-masked`` (read masked, detokenize masked);
- three service accounts with their credentials.json in ``var/demo/``: ``demo-plain``,
  ``demo-masked`` and ``demo-auditor`` (AUDITOR: the audit log).

Run it again at any time: what exists is kept; a credentials file whose key is gone gets a new key.
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
from accounts.principals import ServiceAccountPrincipal
from accounts.services import service_account_create, service_account_key_generate, token_uri
from audit.actors import Actor
from policies.models import AUDITOR, Policy, Role, RoleBinding
from policies.services import binding_create, policy_create, role_create

DEMO_VAULT = "demo"
DEMO_SCHEMA = {
    "tables": [
        {
            "name": "persons",
            "columns": [
                {"name": "name", "default_redaction": "MASKED", "masking": {"preset": "initial"}},
                {
                    "name": "email",
                    "data_type": "email",
                    "searchable": True,
                    "unique": True,
                    "default_redaction": "MASKED",
                    "masking": {"preset": "email"},
                },
                {
                    "name": "ssn",
                    "data_type": "ssn",
                    "searchable": True,
                    "tokenization": "UUID",
                    "default_redaction": "MASKED",
                    "masking": {"preset": "ssn"},
                    "column_group": "ssns",
                },
                {
                    "name": "card_number",
                    "data_type": "card_number",
                    "tokenization": "FORMAT_PRESERVING",
                    "default_redaction": "MASKED",
                    "masking": {"preset": "first6_last4"},
                },
                {"name": "region", "encrypted": False, "default_redaction": "PLAIN_TEXT"},
                {"name": "vip", "data_type": "boolean", "encrypted": False, "default_redaction": "PLAIN_TEXT"},
            ],
        }
    ]
}
DEMO_POLICIES = {
    "demo-plain": (
        "# Applications that need the data itself\n"
        "ALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT\n"
        "ALLOW CREATE ON persons.*\n"
        "ALLOW UPDATE ON persons.*\n"
        "ALLOW DELETE ON persons.*\n"
        "ALLOW TOKENIZATION ON persons.ssn\n"
        "ALLOW DETOKENIZATION ON persons.ssn, persons.card_number WITH REDACTION = PLAIN_TEXT\n"
    ),
    "demo-masked": (
        "# Support tools: masked values only\n"
        "ALLOW READ ON persons.* WITH REDACTION = MASKED\n"
        "ALLOW DETOKENIZATION ON persons.ssn WITH REDACTION = MASKED\n"
    ),
}
DEMO_PEOPLE = [
    {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "ssn": "123-45-6789",
        "card_number": "4111111111111111",
        "region": "EU",
        "vip": True,
    },
    {
        "name": "Alan Turing",
        "email": "alan@example.com",
        "ssn": "234-56-7890",
        "card_number": "5555555555554444",
        "region": "EU",
        "vip": False,
    },
    {
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "ssn": "345-67-8901",
        "card_number": "378282246310005",
        "region": "US",
        "vip": True,
    },
]


class Command(BaseCommand):
    help = "Seed the demo vault, policies and service accounts; write credentials to var/demo/ (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", default=str(Path(settings.VAR_DIR) / "demo"), help="Where to write credentials.")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        actor = Actor.cli("manage.py demo")
        vault, fresh = self._vault(actor)
        roles: dict[str, Role] = {}
        for name, source in DEMO_POLICIES.items():
            policy = Policy.objects.filter(vault=vault, name=name).first() or policy_create(
                actor=actor, vault=vault, name=name, source=source
            )
            roles[name] = Role.objects.filter(name=name).first() or role_create(
                actor=actor, name=name, description=f"Demo: the {name} policy.", policies=[policy]
            )
        roles["demo-auditor"] = Role.objects.get(name=AUDITOR)
        accounts = {}
        for name, role in roles.items():
            accounts[name] = self._account(actor, out, name, role)
        if fresh:
            self._people(vault, accounts["demo-plain"])
        self.stdout.write(self.style.SUCCESS(f"Demo vault {vault.name}: id {vault.id}"))

    def _vault(self, actor: Actor) -> tuple[Any, bool]:
        from vaults.models import Vault
        from vaults.schema import parse_schema
        from vaults.services import vault_create

        vault = Vault.objects.filter(name=DEMO_VAULT).first()
        if vault is not None:
            return vault, False
        return vault_create(
            actor=actor,
            name=DEMO_VAULT,
            description="Made-up people to try the API with.",
            schema=parse_schema(DEMO_SCHEMA),
        ), True

    def _people(self, vault: Any, account: ServiceAccount) -> None:
        from policies.pdp import forget_policy_sets
        from vaults.records import VaultAccess, records_insert

        forget_policy_sets()  # the roles were just bound: decide with them, whatever the cache says
        key = ServiceAccountKey.objects.filter(service_account=account).order_by("-created_at").first()
        caller = ServiceAccountPrincipal(service_account=account, key=key, claims={})
        records_insert(VaultAccess(caller=caller, vault=vault), "persons", DEMO_PEOPLE, tokenization=False)
        self.stdout.write(f"Inserted {len(DEMO_PEOPLE)} demo people into {vault.name}.persons.")

    def _account(self, actor: Actor, out: Path, name: str, role: Role) -> ServiceAccount:
        path = out / f"{name}-credentials.json"
        with transaction.atomic():
            account = ServiceAccount.objects.filter(name=name).first()
            if account is None:
                account = service_account_create(actor=actor, name=name, description=f"Demo: {role.description}")
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
                return account
            _, credentials = service_account_key_generate(actor=actor, account=account)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(credentials, handle, indent=2)
        self.stdout.write(self.style.SUCCESS(f"{name}: created, credentials written to {path}"))
        return account
