"""``manage.py create_service_account`` (DESIGN.md §15, command line)."""

from __future__ import annotations

import io
import json
import stat

import pytest
from django.core.management import CommandError, call_command

from accounts.keys import generate_keypair
from accounts.models import ServiceAccount, ServiceAccountKey
from policies.models import RoleBinding
from tests.conftest import TOKEN_URI

from .support import audit_actions, client_with, database_contains

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_service_account", *args, stdout=out)
    return out.getvalue()


def test_generate_writes_credentials_that_get_a_token(tmp_path, token_for):
    path = tmp_path / "credentials.json"

    output = run(
        "ci-deployer", "--role", "ACCOUNT_ADMIN", "--role", "AUDITOR", "--generate", "--credentials-out", str(path)
    )

    assert str(path) in output and "0600" in output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    credentials = json.loads(path.read_text())
    assert set(credentials) == {"clientID", "clientName", "keyID", "tokenURI", "privateKey"}
    assert credentials["clientName"] == "ci-deployer" and credentials["tokenURI"] == TOKEN_URI
    account = ServiceAccount.objects.get(name="ci-deployer")
    assert str(account.client_id) == credentials["clientID"] and credentials["clientID"] in output
    key = ServiceAccountKey.objects.get(key_id=credentials["keyID"], service_account=account)
    assert key.algorithm == "RS256" and key.generated
    assert {b.role.name for b in RoleBinding.objects.filter(service_account=account)} == {"ACCOUNT_ADMIN", "AUDITOR"}
    assert database_contains(credentials["privateKey"].splitlines()[1]) == []

    token = token_for(credentials)
    assert client_with(token).get("/api/v1/service-accounts/").status_code == 200  # the role is bound

    from audit.models import AuditEvent

    cli_events = AuditEvent.objects.filter(auth_mode="CLI").order_by("seq")
    assert [e.action for e in cli_events] == [
        "service_account.create",
        "role.binding.create",
        "role.binding.create",
        "service_account.key.generate",
    ]
    assert {e.actor_display for e in cli_events} == {"manage.py"}


def test_generate_with_base_url_and_es256(tmp_path):
    path = tmp_path / "c.json"
    run(
        "edge",
        "--generate",
        "--algorithm",
        "ES256",
        "--credentials-out",
        str(path),
        "--base-url",
        "https://vault.example.com/",
    )
    credentials = json.loads(path.read_text())
    assert credentials["tokenURI"] == "https://vault.example.com/v1/auth/sa/oauth/token"
    assert ServiceAccountKey.objects.get(key_id=credentials["keyID"]).algorithm == "ES256"


@pytest.mark.parametrize(("algorithm", "flag"), [("ES256", []), ("RS256", []), ("RS256", ["--algorithm", "RS256"])])
def test_public_key_prints_client_and_key_ids(tmp_path, token_for, algorithm, flag):
    pair = generate_keypair(algorithm)
    pem = tmp_path / "public.pem"
    pem.write_text(pair.public_pem)

    output = run("uploader", "--public-key", str(pem), *flag)

    printed = json.loads(output)
    assert set(printed) == {"clientID", "keyID"}
    account = ServiceAccount.objects.get(name="uploader")
    key = ServiceAccountKey.objects.get(key_id=printed["keyID"], service_account=account)
    assert str(account.client_id) == printed["clientID"]
    assert key.algorithm == algorithm and not key.generated
    assert token_for({**printed, "tokenURI": TOKEN_URI, "privateKey": pair.private_pem})
    assert audit_actions(auth_mode="CLI") == ["service_account.create", "service_account.key.upload"]


def test_unknown_role_is_an_error_and_nothing_is_created(tmp_path):
    path = tmp_path / "c.json"
    with pytest.raises(CommandError, match="NO_SUCH_ROLE") as caught:
        run("orphan", "--role", "ACCOUNT_ADMIN", "--role", "NO_SUCH_ROLE", "--generate", "--credentials-out", str(path))
    assert "Nothing was created" in str(caught.value) and "ACCOUNT_ADMIN" in str(caught.value)
    assert not ServiceAccount.objects.filter(name="orphan").exists()
    assert not path.exists()
    assert audit_actions(auth_mode="CLI") == []


def test_a_failure_after_the_account_exists_rolls_everything_back(tmp_path):
    """The account and its role binding are made before the key is checked: one transaction undoes both."""
    private = tmp_path / "oops.pem"
    private.write_text(generate_keypair("ES256").private_pem)
    with pytest.raises(CommandError, match="private key"):
        run("half-made", "--role", "AUDITOR", "--public-key", str(private), "--algorithm", "ES256")
    assert not ServiceAccount.objects.filter(name="half-made").exists()
    assert not RoleBinding.objects.filter(service_account__name="half-made").exists()
    assert audit_actions(auth_mode="CLI") == []


def test_duplicate_name_leaves_no_credentials_file(tmp_path):
    run("taken", "--generate", "--algorithm", "ES256", "--credentials-out", str(tmp_path / "first.json"))
    second = tmp_path / "second.json"
    with pytest.raises(CommandError, match="already exists"):
        run("taken", "--generate", "--credentials-out", str(second))
    assert not second.exists()
    assert ServiceAccount.objects.filter(name="taken").count() == 1


def test_existing_credentials_file_is_never_overwritten(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("someone else's credentials")
    with pytest.raises(CommandError, match="already exists"):
        run("careful", "--generate", "--credentials-out", str(path))
    assert path.read_text() == "someone else's credentials"
    assert not ServiceAccount.objects.filter(name="careful").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--generate", "--public-key", "x.pem"], "not allowed with"),
        ([], "one of the arguments --generate --public-key is required"),
        (["--generate"], "--credentials-out"),
        (["--public-key", "{pem}", "--credentials-out", "c.json"], "--credentials-out goes with --generate"),
        (["--public-key", "{pem}", "--base-url", "https://x"], "--base-url goes with --generate"),
        (["--public-key", "{missing}"], "Cannot read the public key"),
        (["--public-key", "{garbage}"], "Not a PEM public key"),
        (["--generate", "--credentials-out", "{nodir}"], "Cannot create"),
    ],
)
def test_usage_errors_are_clear_and_create_nothing(tmp_path, args, message):
    pem, garbage = tmp_path / "public.pem", tmp_path / "garbage.pem"
    pem.write_text(generate_keypair("ES256").public_pem)
    garbage.write_text("hello")
    paths = {
        "{pem}": pem,
        "{garbage}": garbage,
        "{missing}": tmp_path / "missing.pem",
        "{nodir}": tmp_path / "no" / "such" / "dir.json",
    }
    args = [str(paths.get(a, a)) for a in args]
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run("nothing", *args)
    assert not ServiceAccount.objects.filter(name="nothing").exists()


def test_key_that_fits_neither_algorithm_says_so(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from accounts.keys import public_pem_of

    small = tmp_path / "small.pem"
    small.write_text(public_pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()))
    with pytest.raises(CommandError, match="neither algorithm") as caught:
        run("weak", "--public-key", str(small))
    assert "2048" in str(caught.value) and "--algorithm" in str(caught.value)
    assert not ServiceAccount.objects.filter(name="weak").exists()
