"""Query budgets for list pages: the queries a page needs with a little data, which it must not exceed
with much more (no N+1), whatever fixed number the request's middleware adds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_of(client: Any, url: str) -> int:
    """How many queries a GET of ``url`` runs, after a first GET has warmed the session up."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def assert_constant_queries(
    client: Any, url: str, grow: Callable[[], None], django_assert_max_num_queries: Any
) -> None:
    """``url`` runs no more queries after ``grow()`` added many rows than it did before."""
    budget = queries_of(client, url)
    grow()
    with django_assert_max_num_queries(budget):
        assert client.get(url).status_code == 200
