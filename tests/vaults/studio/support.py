"""Shared set-up of the vault and policy studio tests (test client and browser): a realistic vault of
people, and people whose roles carry policies. Services do the writing, as in production."""

from __future__ import annotations

import re
import uuid
from typing import Any

from accounts.management.commands.demo import DEMO_PEOPLE, DEMO_SCHEMA
from audit.actors import Actor
from policies.models import Policy, Role
from policies.pdp import forget_policy_sets
from policies.services import binding_create, policy_create, role_create
from tests.studio_support import make_person
from vaults.models import Vault
from vaults.records import VaultAccess, records_insert
from vaults.schema import parse_schema
from vaults.services import vault_create

ACTOR = Actor.cli("pytest")

# The demo's persons table and people (``manage.py demo``): what a first look at the studio shows.
PERSONS_SCHEMA: dict[str, Any] = DEMO_SCHEMA
PEOPLE = DEMO_PEOPLE

WRITER_POLICY = "ALLOW CREATE ON persons.*\n"
PLAIN_POLICY = "# Analysts who may see the data itself\nALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT\n"
MASKED_POLICY = "# Support: masked values only\nALLOW READ ON persons.* WITH REDACTION = MASKED\n"


def persons_vault(name: str | None = None, people: list[dict[str, Any]] | None = None) -> Vault:
    """A vault with the persons table, holding ``people`` (inserted through the data plane's path)."""
    vault = vault_create(
        actor=ACTOR, name=name or f"people-{uuid.uuid4().hex[:6]}", schema=parse_schema(PERSONS_SCHEMA)
    )
    rows = PEOPLE if people is None else people
    if rows:
        writer = make_person(f"writer-{uuid.uuid4().hex[:6]}@example.com", mfa=None)
        grant(writer, vault, WRITER_POLICY)
        access = VaultAccess(writer, vault)
        for row in rows:  # one by one: records are then created (and listed) in this order
            records_insert(access, "persons", [row], tokenization=False)
    return vault


def grant(person: Any, vault: Vault, source: str, *, role_name: str | None = None) -> Role:
    """Bind ``person`` to a new custom role carrying one policy of ``vault`` with ``source``."""
    policy = policy_create(actor=ACTOR, vault=vault, name=f"p-{uuid.uuid4().hex[:8]}", source=source)
    role = role_create(actor=ACTOR, name=role_name or f"role-{uuid.uuid4().hex[:8]}", policies=[policy])
    binding_create(actor=ACTOR, role=role, user=person)
    forget_policy_sets()  # tests run inside one transaction: the version bump waits for a commit
    return role


def analyst(email: str, vault: Vault, source: str, **kwargs: Any) -> Any:
    person = make_person(email, **kwargs)
    grant(person, vault, source)
    return person


def policy_of(vault: Vault, name: str, source: str) -> Policy:
    return policy_create(actor=ACTOR, vault=vault, name=name, source=source)


_INLINE = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(?!</script>)|<style|\sstyle=|\son[a-z]+=", re.I)


def assert_strict_csp(response: Any) -> None:
    """The page carries the CSP header and nothing the CSP would block: no inline script (a
    ``json_script`` data block is not a script), no style attribute or block, no on* handler."""
    assert "Content-Security-Policy" in response.headers
    content = re.sub(rb'<script id="[^"]+" type="application/json">.*?</script>', b"", response.content, flags=re.S)
    found = _INLINE.search(content)
    assert found is None, found.group(0) if found else None
