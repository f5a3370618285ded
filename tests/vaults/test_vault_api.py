"""The vault management API: create with a schema, scope by binding, schema diffs that protect data."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from policies.models import Role
from policies.services import binding_create
from tests.vaults.test_schema_document import PERSONS
from vaults.models import Column, Record, Table, Vault

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(api, service_account_factory, token_for):
    _, _, creds = service_account_factory(roles=("VAULT_OWNER",))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(creds)}")
    return api


def create(api, name="people", schema=PERSONS):
    body = {"name": name, "description": "customers"}
    if schema is not None:
        body["schema"] = schema
    return api.post("/api/v1/vaults/", body, format="json")


def test_create_with_schema_and_read_it_back(owner):
    response = create(owner)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "name", "description", "schema"}
    assert [c["name"] for c in body["schema"]["tables"][0]["columns"]] == ["name", "ssn", "region"]
    got = owner.get(f"/api/v1/vaults/{body['id']}/schema")
    assert got.status_code == 200 and got.json() == body["schema"]
    event = AuditEvent.objects.get(action="vault.create")
    assert event.vault_id == body["id"] and json.loads(event.details)["schema"]["columns_added"] == [
        "persons.name",
        "persons.ssn",
        "persons.region",
    ]


def test_bad_schema_is_a_400_with_every_problem_and_creates_nothing(owner):
    bad = {"tables": [{"name": "t", "columns": [{"name": "a", "data_type": "x"}, {"name": "b", "unique": True}]}]}
    response = create(owner, schema=bad)
    assert response.status_code == 400
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"tables[0].columns[0].data_type", "tables[0].columns[1].unique"} <= fields
    assert not Vault.objects.exists()


def test_duplicate_name_is_409(owner):
    assert create(owner).status_code == 201
    assert create(owner).status_code == 409


def test_other_roles_cannot_manage_vaults(api, service_account_factory, token_for):
    _, _, creds = service_account_factory(roles=("ACCOUNT_ADMIN", "AUDITOR"))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(creds)}")
    assert create(api).status_code == 403
    assert api.get("/api/v1/vaults/").status_code == 403


def test_a_scoped_owner_sees_only_its_vault(owner, api, service_account_factory, token_for, actor):
    mine = create(owner, name="mine").json()["id"]
    other = create(owner, name="other").json()["id"]
    account, _, creds = service_account_factory()
    binding_create(actor=actor, role=Role.objects.get(name="VAULT_OWNER"), service_account=account, vault_id=mine)
    scoped = api.__class__()
    scoped.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(creds)}")
    assert [v["id"] for v in scoped.get("/api/v1/vaults/").json()["results"]] == [mine]
    assert scoped.get(f"/api/v1/vaults/{mine}/schema").status_code == 200
    assert scoped.get(f"/api/v1/vaults/{other}/schema").status_code == 404
    assert scoped.put(f"/api/v1/vaults/{other}/schema", {"tables": []}, format="json").status_code == 404
    assert create(scoped, name="third").status_code == 403


def test_patch_and_delete(owner):
    vault_id = create(owner).json()["id"]
    response = owner.patch(
        f"/api/v1/vaults/{vault_id}/", {"description": "all customers", "rotation_period_days": 30}, format="json"
    )
    assert response.status_code == 200 and response.json()["rotation_period_days"] == 30
    assert owner.patch(f"/api/v1/vaults/{vault_id}/", {"colour": "red"}, format="json").status_code == 400
    deleted = owner.delete(f"/api/v1/vaults/{vault_id}/")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": True, "id": vault_id}
    assert owner.get(f"/api/v1/vaults/{vault_id}/").status_code == 404


def _put(api, vault_id, schema, confirm=None):
    url = f"/api/v1/vaults/{vault_id}/schema" + (f"?confirm={confirm}" if confirm else "")
    return api.put(url, schema, format="json")


def _with_record(vault_id, **data):
    table = Table.objects.get(vault_id=vault_id, name="persons")
    return Record.objects.create(table=table, data=data)


def test_schema_put_adds_changes_and_drops(owner):
    vault_id = create(owner).json()["id"]
    schema = json.loads(json.dumps(PERSONS))
    schema["tables"][0]["columns"].append({"name": "email", "data_type": "email", "searchable": True})
    schema["tables"][0]["columns"][1]["masking"] = {"preset": "last4"}
    schema["tables"][0]["columns"] = [c for c in schema["tables"][0]["columns"] if c["name"] != "region"]
    schema["tables"].append({"name": "cards", "columns": [{"name": "number", "data_type": "card_number"}]})
    response = _put(owner, vault_id, schema)
    assert response.status_code == 200, response.content
    changes = response.json()["changes"]
    assert changes["columns_added"] == ["persons.email", "cards.number"]
    assert changes["columns_changed"] == ["persons.ssn"]
    assert changes["columns_dropped"] == ["persons.region"]
    assert changes["tables_added"] == ["cards"]
    assert Column.objects.get(table__name="persons", name="ssn").masking == {"preset": "last4"}
    assert AuditEvent.objects.filter(action="vault.schema.update").count() == 1
    # The same document again changes nothing and writes no event.
    assert _put(owner, vault_id, response.json()["schema"]).json()["changes"]["columns_changed"] == []
    assert AuditEvent.objects.filter(action="vault.schema.update").count() == 1


def test_dropping_a_column_with_data_needs_confirm_and_removes_its_values(owner):
    vault_id = create(owner).json()["id"]
    record = _with_record(vault_id, name="ciphertext-a", region="EU")
    schema = json.loads(json.dumps(PERSONS))
    schema["tables"][0]["columns"] = [c for c in schema["tables"][0]["columns"] if c["name"] != "region"]
    refused = _put(owner, vault_id, schema)
    assert refused.status_code == 409 and "confirm=drop" in refused.json()["error"]["message"]
    assert Column.objects.filter(name="region").exists()
    assert _put(owner, vault_id, schema, confirm="drop").status_code == 200
    record.refresh_from_db()
    assert record.data == {"name": "ciphertext-a"}


def test_dropping_a_table_with_records_needs_confirm(owner):
    vault_id = create(owner).json()["id"]
    _with_record(vault_id, name="x")
    assert _put(owner, vault_id, {"tables": []}).status_code == 409
    assert _put(owner, vault_id, {"tables": []}, confirm="drop").status_code == 200
    assert not Record.objects.exists()


@pytest.mark.parametrize(
    "change",
    [{"data_type": "email"}, {"encrypted": False}, {"required": True}, {"validation": ["^x$"]}],
)
def test_changes_that_would_invalidate_stored_values_are_refused(owner, change):
    vault_id = create(owner).json()["id"]
    _with_record(vault_id, name="stored")
    schema = json.loads(json.dumps(PERSONS))
    schema["tables"][0]["columns"][0].update(change)
    response = _put(owner, vault_id, schema)
    assert response.status_code == 409, response.content
    assert "holds data" in response.json()["error"]["message"]


def test_the_same_changes_are_fine_on_an_empty_column(owner):
    vault_id = create(owner).json()["id"]
    schema = json.loads(json.dumps(PERSONS))
    schema["tables"][0]["columns"][0].update({"data_type": "email", "encrypted": False, "required": True})
    assert _put(owner, vault_id, schema).status_code == 200


def test_deleting_a_vault_with_records_needs_confirm(owner):
    vault_id = create(owner).json()["id"]
    _with_record(vault_id, name="x")
    refused = owner.delete(f"/api/v1/vaults/{vault_id}/")
    assert refused.status_code == 409 and "confirm=delete" in refused.json()["error"]["message"]
    assert owner.delete(f"/api/v1/vaults/{vault_id}/?confirm=delete").status_code == 200
    assert json.loads(AuditEvent.objects.get(action="vault.delete").details)["records_deleted"] == 1


def test_unknown_vault_is_404(owner):
    assert owner.get("/api/v1/vaults/not-a-uuid/").status_code == 404
    assert owner.get("/api/v1/vaults/00000000-0000-4000-8000-000000000000/schema").status_code == 404


VAULT_ENDPOINTS = [
    ("get", "/api/v1/vaults/", None, 200),
    ("post", "/api/v1/vaults/", {"name": "matrix"}, 201),
    ("get", "/api/v1/vaults/{id}/", None, 200),
    ("patch", "/api/v1/vaults/{id}/", {"description": "d"}, 200),
    ("get", "/api/v1/vaults/{id}/schema", None, 200),
    ("put", "/api/v1/vaults/{id}/schema", {"tables": []}, 200),
    ("delete", "/api/v1/vaults/{id}/", None, 200),
]


@pytest.mark.parametrize("method, path, body, ok", VAULT_ENDPOINTS)
@pytest.mark.parametrize("who", ["nobody", "expired", "wrong_role", "owner"])
def test_permission_matrix(api, service_account_factory, token_for, actor, method, path, body, ok, who):
    import time

    from accounts import signing
    from accounts.tokens import issue_access_token
    from vaults.services import vault_create

    vault = vault_create(actor=actor, name="existing")
    roles = {"wrong_role": ("ACCOUNT_ADMIN", "AUDITOR"), "owner": ("VAULT_OWNER",), "expired": ("VAULT_OWNER",)}
    if who != "nobody":
        account, key, creds = service_account_factory(roles=roles[who])
        if who == "expired":
            kid, private = signing.active_signer()
            token, _ = issue_access_token(
                kid=kid,
                private_key=private,
                issuer="http://testserver",
                client_id=str(account.client_id),
                key_id=str(key.key_id),
                now=int(time.time()) - 7200,
                ttl=900,
                roles=None,
                ctx=None,
            )
        else:
            token = token_for(creds)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = getattr(api, method)(path.format(id=vault.id), body, format="json")
    expected = {"nobody": 401, "expired": 401, "wrong_role": 403, "owner": ok}[who]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/json" and response.json()["error"]["http_code"] == expected
