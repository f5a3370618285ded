"""The pure audit chain: canonical JSON, the chained hash and verify_rows (every branch)."""

from __future__ import annotations

import hashlib

import pytest

from audit.chain import (
    CHAIN_FIELDS,
    GENESIS_HASH,
    VerifyResult,
    canonical_json,
    canonical_value,
    chain_hash,
    verify_rows,
)

# A fixed event, in CHAIN_FIELDS order: JSON-valued fields are already canonical JSON text.
VECTOR = (
    1,
    "00000000-0000-4000-8000-000000000001",
    1700000000000000,
    "SERVICE_ACCOUNT",
    "c1",
    'Ünïcode "sa"',
    "SERVICE_ACCOUNT_JWT",
    "service_account.create",
    "SERVICE_ACCOUNT",
    '["c1"]',
    "",
    "",
    "[]",
    None,
    "ALLOW",
    "[]",
    "req-1",
    "203.0.113.7",
    "ua",
    "POST",
    "/api/v1/service-accounts/",
    201,
    '{"a":"é","b":2}',
)
VECTOR_JSON = (
    '[1,"00000000-0000-4000-8000-000000000001",1700000000000000,"SERVICE_ACCOUNT","c1",'
    '"Ünïcode \\"sa\\"","SERVICE_ACCOUNT_JWT","service_account.create","SERVICE_ACCOUNT","[\\"c1\\"]","","",'
    '"[]",null,"ALLOW","[]","req-1","203.0.113.7","ua","POST","/api/v1/service-accounts/",201,'
    '"{\\"a\\":\\"é\\",\\"b\\":2}"]'
)
# Pinned: a change here means every stored chain stops verifying.
VECTOR_HASH = "f75d978746c94c09304f63ceaecd0dc08d39ec8bf9dbc1949c6189b1cec9663d"


def test_chain_fields_cover_every_hashed_column():
    assert len(CHAIN_FIELDS) == len(VECTOR) == 23
    assert CHAIN_FIELDS[0] == "seq" and CHAIN_FIELDS[-1] == "details"


def test_canonical_value_sorts_keys_is_compact_and_keeps_unicode():
    assert canonical_value({"b": [1, 2], "a": {"d": None, "c": "é"}}) == '{"a":{"c":"é","d":null},"b":[1,2]}'
    assert canonical_value([]) == "[]"
    assert canonical_value({}) == "{}"


def test_canonical_json_of_the_known_vector():
    assert canonical_json(VECTOR) == VECTOR_JSON
    assert canonical_json(list(VECTOR)) == VECTOR_JSON


def test_hash_of_the_known_vector():
    assert hashlib.sha256((GENESIS_HASH + VECTOR_JSON).encode()).hexdigest() == VECTOR_HASH
    assert chain_hash(GENESIS_HASH, VECTOR) == VECTOR_HASH
    assert GENESIS_HASH == "0" * 64


def test_hash_depends_on_the_previous_hash_and_every_field():
    assert chain_hash("f" * 64, VECTOR) != VECTOR_HASH
    for index in range(len(VECTOR)):
        changed = list(VECTOR)
        changed[index] = "x" if VECTOR[index] != "x" else "y"
        assert chain_hash(GENESIS_HASH, changed) != VECTOR_HASH, CHAIN_FIELDS[index]


def make_chain(n: int, start_seq: int = 1, prev: str = GENESIS_HASH) -> list[tuple]:
    rows = []
    for seq in range(start_seq, start_seq + n):
        values = (seq, *VECTOR[1:7], f"thing.{seq}", *VECTOR[8:])
        digest = chain_hash(prev, values)
        rows.append((*values, prev, digest))
        prev = digest
    return rows


N = len(CHAIN_FIELDS)


def test_verify_rows_accepts_a_good_chain():
    rows = make_chain(5)
    assert verify_rows(rows) == VerifyResult(True, 5, None, "")
    assert verify_rows(iter(rows)) == VerifyResult(True, 5, None, "")


def test_verify_rows_accepts_an_empty_chain():
    assert verify_rows([]) == VerifyResult(True, 0, None, "")


def test_verify_rows_continues_from_a_checkpoint():
    rows = make_chain(6)
    tail = rows[3:]
    assert verify_rows(tail, prev_hash=rows[2][N + 1], prev_seq=3) == VerifyResult(True, 3, None, "")


def test_verify_rows_reports_a_gap():
    rows = make_chain(5)
    del rows[2]
    result = verify_rows(rows)
    assert result == VerifyResult(False, 2, 3, "seq 3 is missing")


def test_verify_rows_reports_a_chain_that_does_not_start_at_one():
    assert verify_rows(make_chain(2)[1:]).first_bad_seq == 1


def test_verify_rows_reports_a_bad_link():
    rows = make_chain(4)
    row = list(rows[2])
    row[N] = "a" * 64
    rows[2] = tuple(row)
    result = verify_rows(rows)
    assert not result.valid and result.first_bad_seq == 3 and result.checked == 2
    assert "prev_hash" in result.reason


def test_verify_rows_reports_changed_content():
    rows = make_chain(4)
    row = list(rows[1])
    row[CHAIN_FIELDS.index("details")] = '{"a":"tampered"}'
    rows[1] = tuple(row)
    result = verify_rows(rows)
    assert result == VerifyResult(False, 1, 2, "seq 2: content does not match its hash")


def test_rewriting_content_and_hash_breaks_the_next_link():
    rows = make_chain(4)
    row = list(rows[1])
    row[CHAIN_FIELDS.index("actor_display")] = "someone else"
    row[N + 1] = chain_hash(row[N], row[:N])
    rows[1] = tuple(row)
    result = verify_rows(rows)
    assert not result.valid and result.first_bad_seq == 3 and "prev_hash" in result.reason


class TestHead:
    def test_matching_head(self):
        rows = make_chain(3)
        assert verify_rows(rows, head=(3, rows[-1][N + 1])) == VerifyResult(True, 3, None, "")

    def test_empty_chain_with_a_fresh_head(self):
        assert verify_rows([], head=(0, GENESIS_HASH)).valid
        # A head at seq 0 holds no event to compare with.
        assert verify_rows([], head=(0, "x" * 64)).valid

    def test_events_cut_off_the_end(self):
        rows = make_chain(5)
        result = verify_rows(rows[:3], head=(5, rows[-1][N + 1]))
        assert result == VerifyResult(False, 3, 4, "seq 4 is missing: the chain head records 5 events")

    def test_every_event_deleted(self):
        assert verify_rows([], head=(2, "x" * 64)).first_bad_seq == 1

    def test_rows_beyond_the_head(self):
        rows = make_chain(3)
        result = verify_rows(rows, head=(2, rows[1][N + 1]))
        assert not result.valid and result.first_bad_seq == 3 and "beyond the chain head" in result.reason

    def test_last_event_rewritten_with_its_hash(self):
        rows = make_chain(3)
        head = (3, rows[-1][N + 1])
        row = list(rows[-1])
        row[CHAIN_FIELDS.index("action")] = "nothing.happened"
        row[N + 1] = chain_hash(row[N], row[:N])
        rows[-1] = tuple(row)
        assert verify_rows(rows).valid  # no link shows it...
        result = verify_rows(rows, head=head)  # ...the head does
        assert result == VerifyResult(False, 2, 3, "seq 3: its hash does not match the chain head's hash")


@pytest.mark.parametrize("n", [1, 2, 17])
def test_any_single_field_change_is_found_at_its_seq(n):
    rows = make_chain(n)
    for target in range(n):
        for field in range(1, N):  # seq itself is covered by the gap tests
            tampered = list(rows)
            row = list(tampered[target])
            row[field] = "tampered" if row[field] != "tampered" else "other"
            tampered[target] = tuple(row)
            result = verify_rows(tampered)
            assert not result.valid and result.first_bad_seq == target + 1, (target, CHAIN_FIELDS[field])
