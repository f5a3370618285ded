"""The fast canonical encoder is byte-identical to json's, and verification trusts only it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.actors import Actor
from audit.chain import GENESIS_HASH, _encode, canonical_json, chain_hash, verify_links
from audit.services import audit_append, audit_verify

_reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_prebuilt_encoder_matches_the_standard_one(value):
    assert _encode(value) == _reference(value)


TRICKY = [
    'quote " and \\ backslash',
    "new\nline\ttab\r\b\f",
    "\x00\x01\x1f\x7f",
    "caf\u00e9 \u2028 \u2029 \U0001f510",
    "</script>",
    "\ud7ff\ue000",
]


@pytest.mark.django_db
@pytest.mark.parametrize("text", TRICKY)
def test_events_with_tricky_text_verify(text):
    audit_append(actor=Actor("USER", text[:10], text), action="test.tricky", table=text, details={"k": text, text: 1})
    result = audit_verify()
    assert result.valid, result


def _links(values_list):
    prev, links = GENESIS_HASH, []
    for values in values_list:
        digest = chain_hash(prev, values)
        links.append((values[0], canonical_json(values), prev, digest))
        prev = digest
    return links


def test_a_different_database_encoding_falls_back_to_ours():
    rows = [(1, "a"), (2, "b")]
    links = _links(rows)
    # The database rendered row 2 differently (say, another escape style): our encoder decides.
    links[1] = (2, '[2,"\\u0062"]', links[1][2], links[1][3])
    assert verify_links(links, reencode=lambda seq: rows[seq - 1]).valid
    assert not verify_links(links).valid


def test_fallback_does_not_excuse_a_changed_row():
    rows = [(1, "a"), (2, "b")]
    links = _links(rows)
    links[1] = (2, '[2,"c"]', links[1][2], links[1][3])
    result = verify_links(links, reencode=lambda seq: (2, "c"))
    assert not result.valid and result.first_bad_seq == 2
    # A row that vanished between the two reads is no excuse either.
    assert not verify_links(links, reencode=lambda seq: ()).valid


@pytest.mark.django_db
def test_the_database_builds_exactly_our_canonical_text():
    """The fast path: the text the database builds for verification (SQLite's json_array, PostgreSQL's
    to_json per field) is byte-identical to our encoder's, tricky characters included, so no row
    needs the per-row fallback."""
    from audit import services
    from audit.models import AuditEvent

    first = None
    for text in TRICKY:
        # NUL is replaced before storage (PostgreSQL text cannot hold it); the rest is stored as sent.
        appended = audit_append(
            actor=Actor("USER", text[:10], text), action="test.tricky", table=text, details={"k": text, text: 1}
        )
        first = first or appended.seq
    last = appended.seq
    built = {seq: text for seq, text, _, _ in services._page(first - 1, last)}
    assert sorted(built) == list(range(first, last + 1))
    for seq, text in built.items():
        assert text == canonical_json(services._row_values(seq)), seq
    assert AuditEvent.objects.filter(seq__gte=first).count() == len(TRICKY)
