"""``manage.py create_service_account``: a service account, its first key and its roles, in one go.

    manage.py create_service_account NAME [--role ROLE ...]
        (--generate --credentials-out FILE | --public-key FILE [--algorithm RS256|ES256]) [--base-url URL]

With ``--generate`` the credentials.json (the only copy of the private key) is written to FILE with
mode 0600; with ``--public-key`` the command prints ``{"clientID", "keyID"}`` as JSON, for scripts.
Everything happens in one transaction: an unknown role, a bad key or an unwritable file leaves
nothing behind. The audit trail records the changes with the CLI actor.
"""

from __future__ import annotations

import json
import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.keys import ALGORITHMS, RS256, KeyFormatError, normalize_public_key
from accounts.models import ServiceAccount
from accounts.services import service_account_create, service_account_key_generate, service_account_key_register
from audit.actors import Actor
from policies.models import Role
from policies.selectors import roles_list
from policies.services import binding_create
from vaultstudio.errors import VaultError


class Command(BaseCommand):
    help = (
        "Create a service account with its first key: generate a key pair and write credentials.json "
        "(--generate --credentials-out FILE), or register your own public key (--public-key FILE)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="The service account's name (unique).")
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            metavar="ROLE",
            help="Bind this role, by name (e.g. ACCOUNT_ADMIN, or a custom role). Repeat for several.",
        )
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--generate", action="store_true", help="Generate a key pair; needs --credentials-out.")
        mode.add_argument("--public-key", metavar="FILE", help="Register the PEM public key in FILE.")
        parser.add_argument(
            "--credentials-out",
            metavar="FILE",
            help="Where --generate writes credentials.json (created with mode 0600; must not exist yet).",
        )
        parser.add_argument(
            "--algorithm",
            choices=ALGORITHMS,
            help="RS256 or ES256. --generate defaults to RS256; --public-key defaults to the key's own type.",
        )
        parser.add_argument(
            "--base-url",
            metavar="URL",
            help="The server's public URL for credentials.json's tokenURI (default: VAULTSTUDIO_BASE_URL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        roles = self._roles(options["role"])
        actor = Actor.cli()
        if options["generate"]:
            if not options["credentials_out"]:
                raise CommandError("--generate needs --credentials-out FILE: the private key is written only there.")
            self._generate(
                actor,
                name,
                roles,
                Path(options["credentials_out"]),
                options["algorithm"] or RS256,
                options["base_url"],
            )
        else:
            if options["credentials_out"]:
                raise CommandError(
                    "--credentials-out goes with --generate; with --public-key the private key stays with you."
                )
            if options["base_url"]:
                raise CommandError("--base-url goes with --generate (it sets credentials.json's tokenURI).")
            self._register(actor, name, roles, Path(options["public_key"]), options["algorithm"])

    def _roles(self, names: list[str]) -> list[Role]:
        """The roles to bind, checked before anything is created."""
        wanted = list(dict.fromkeys(names))
        found = {role.name: role for role in roles_list().filter(name__in=wanted)}
        unknown = [n for n in wanted if n not in found]
        if unknown:
            available = ", ".join(roles_list().values_list("name", flat=True))
            raise CommandError(
                f"Unknown role(s): {', '.join(unknown)}. Nothing was created. Existing roles: {available}."
            )
        return [found[n] for n in wanted]

    def _create_account(self, actor: Actor, name: str, roles: list[Role]) -> ServiceAccount:
        account = service_account_create(actor=actor, name=name)
        for role in roles:
            binding_create(actor=actor, role=role, service_account=account)
        return account

    def _generate(
        self,
        actor: Actor,
        name: str,
        roles: list[Role],
        out: Path,
        algorithm: str,
        base_url: str | None,
    ) -> None:
        # Claim the file first (O_EXCL: never overwrite someone's credentials), so an unwritable path
        # fails before anything is created; remove it again if the transaction fails.
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(f"{out} already exists; choose another --credentials-out or remove it first.") from exc
        except OSError as exc:
            raise CommandError(f"Cannot create {out}: {exc.strerror}.") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle, transaction.atomic():
                os.fchmod(handle.fileno(), 0o600)  # exactly 0600, whatever the umask made of it
                account = self._create_account(actor, name, roles)
                _key, credentials = service_account_key_generate(
                    actor=actor,
                    account=account,
                    algorithm=algorithm,
                    base_url=base_url,
                )
                json.dump(credentials, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException as exc:
            out.unlink(missing_ok=True)
            if isinstance(exc, VaultError):
                raise CommandError(f"{exc.message} Nothing was created.") from exc
            raise
        self.stdout.write(
            f"Created service account {account.name} (clientID {account.client_id}) "
            f"with roles: {', '.join(r.name for r in roles) or 'none'}.\n"
            f"Wrote credentials.json to {out} (mode 0600). It holds the only copy of the private key: "
            "keep it secret; VaultStudio cannot show it again."
        )

    def _register(self, actor: Actor, name: str, roles: list[Role], path: Path, algorithm: str | None) -> None:
        try:
            pem = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read the public key from {path}: {exc}.") from exc
        algorithm = algorithm or self._algorithm_of(pem)
        try:
            with transaction.atomic():
                account = self._create_account(actor, name, roles)
                key = service_account_key_register(actor=actor, account=account, public_key=pem, algorithm=algorithm)
        except VaultError as exc:
            raise CommandError(f"{exc.message} Nothing was created.") from exc
        self.stdout.write(json.dumps({"clientID": str(account.client_id), "keyID": str(key.key_id)}))

    @staticmethod
    def _algorithm_of(pem: str) -> str:
        """The algorithm a public key fits, when --algorithm was not given."""
        problems: dict[str, str] = {}
        for algorithm in ALGORITHMS:
            try:
                normalize_public_key(pem, algorithm)
                return algorithm
            except KeyFormatError as exc:
                problems[algorithm] = str(exc)
        messages = list(dict.fromkeys(problems.values()))
        if len(messages) == 1:
            raise CommandError(messages[0])
        raise CommandError(
            "The public key fits neither algorithm: "
            + "; ".join(f"{alg}: {msg}" for alg, msg in problems.items())
            + ". Pass --algorithm to say which one it is for."
        )
