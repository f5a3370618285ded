"""Query budgets of the management list endpoints: a page costs the same few queries at any size.

Each request pays two queries before the view runs — the token's key and account (re-checked on
every request, DESIGN.md §3.2) and the caller's role bindings — then a COUNT, the page, and one
prefetch per nested list.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.keys import generate_keypair
from accounts.services import service_account_create, service_account_key_register
from policies.services import binding_create, role_create

pytestmark = pytest.mark.django_db

# path → the most queries one page may cost (auth 2 + count 1 + page 1 + prefetches)
BUDGETS = {
    "/api/v1/service-accounts/": 5,
    "/api/v1/roles/": 5,
    "/api/v1/users/": 4,
    "/api/v1/groups/": 5,
    "bindings": 5,  # + the role lookup
    "keys": 5,  # + the account lookup by id or client_id
}


@pytest.fixture
def populate(actor, user_factory, group_factory):
    """Add ``n`` of everything: accounts with two keys each, people, groups with members, roles, bindings."""
    public_pems = [generate_keypair("ES256").public_pem for _ in range(2)]
    role = role_create(actor=actor, name="crowded")

    def fill(n: int) -> dict:
        account = None
        for index in range(n):
            account = service_account_create(actor=actor, name=f"load-{n}-{index}")
            for pem in public_pems:
                service_account_key_register(actor=actor, account=account, public_key=pem, algorithm="ES256")
            person = user_factory(f"load-{n}-{index}@example.com")
            group_factory(f"load-{n}-{index}", members=(person,))
            binding_create(actor=actor, role=role, user=person)
            binding_create(actor=actor, role=role, service_account=account)
            role_create(actor=actor, name=f"load-{n}-{index}")
        return {
            "bindings": f"/api/v1/roles/{role.id}/bindings/",
            "keys": f"/api/v1/service-accounts/{account.id}/keys/",
        }

    return fill


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


@pytest.mark.parametrize("endpoint", list(BUDGETS))
def test_list_endpoints_stay_within_budget_at_any_size(endpoint, admin_api, populate, django_assert_max_num_queries):
    small = populate(1)
    path = small.get(endpoint, endpoint)
    admin_api.get(path)  # warm the process-local caches (signing keys, verified token claims)
    few = _queries(admin_api, path)

    many = populate(25)
    path = many.get(endpoint, endpoint)
    with django_assert_max_num_queries(BUDGETS[endpoint]):
        response = admin_api.get(path)
    assert response.json()["count"] >= (2 if endpoint == "keys" else 25)
    assert _queries(admin_api, path) == few, "the query count grows with the page: an N+1"
