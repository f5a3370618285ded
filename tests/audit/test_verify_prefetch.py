"""Verification outside a transaction reads ahead on connections of its own (several readers, pages
handed over in seq order); it must stop cleanly."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from audit import services
from audit.actors import Actor
from audit.chain import verify_links
from audit.db import drop_append_only_triggers, install_append_only_triggers

pytestmark = pytest.mark.django_db(transaction=True)


def _append(n: int) -> None:
    for i in range(n):
        services.audit_append(actor=Actor.cli("pytest"), action=f"test.prefetch.{i}", details={"i": i})


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("audit-verify-reader")]


@pytest.mark.parametrize("readers", [1, 2, 3])
def test_prefetched_verification_over_many_pages(readers):
    _append(23)
    assert not connection.in_atomic_block
    head = services._chain_head()
    links = list(services._prefetched(head[0], page=2, readers=readers))
    assert [seq for seq, _, _, _ in links] == list(range(1, 24))  # in order, whoever read each page
    result = verify_links(iter(links), head=head, reencode=services._row_values)
    assert result.valid and result.checked == 23
    assert services.audit_verify().valid
    assert not _readers()


def test_an_early_break_stops_the_reader():
    _append(30)
    drop_append_only_triggers(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE seq = 3")
    finally:
        install_append_only_triggers(connection)
    head = services._chain_head()
    result = verify_links(services._prefetched(head[0], page=2), head=head, reencode=services._row_values)
    assert not result.valid and result.first_bad_seq == 3
    assert not _readers()
    assert services.audit_verify().first_bad_seq == 3  # the path this database takes


def test_a_reader_error_reaches_the_caller(monkeypatch):
    _append(5)

    real_page = services._page

    def failing_page(low, high):
        if low >= 2:  # the second page, read by the second reader
            raise RuntimeError("the database went away")
        return real_page(low, high)

    monkeypatch.setattr(services, "_page", failing_page)
    with pytest.raises(RuntimeError, match="went away"):
        list(services._prefetched(None, page=2))
    assert not _readers()
