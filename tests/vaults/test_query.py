"""The query endpoint's SQL subset: what parses, what is refused (naming why), and hostile text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaults.query import MAX_LIMIT, QuerySpec, UnsupportedQuery, parse_query


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SELECT * FROM persons", QuerySpec("persons", None, (), MAX_LIMIT, 0)),
        ("select name, ssn from persons", QuerySpec("persons", ("name", "ssn"), (), MAX_LIMIT, 0)),
        (
            "SELECT * FROM persons WHERE region = 'EU' AND age = 42 LIMIT 10 OFFSET 5",
            QuerySpec("persons", None, (("region", "EU"), ("age", 42)), 10, 5),
        ),
        ("SELECT * FROM persons WHERE 'EU' = region", QuerySpec("persons", None, (("region", "EU"),), MAX_LIMIT, 0)),
        (
            "SELECT * FROM persons WHERE (a = 1 AND (b = 'x'))",
            QuerySpec("persons", None, (("a", 1), ("b", "x")), MAX_LIMIT, 0),
        ),
        ("SELECT * FROM persons WHERE vip = TRUE", QuerySpec("persons", None, (("vip", True),), MAX_LIMIT, 0)),
        ("SELECT * FROM persons WHERE balance = -2.5", QuerySpec("persons", None, (("balance", -2.5),), MAX_LIMIT, 0)),
        ("SELECT * FROM persons;", QuerySpec("persons", None, (), MAX_LIMIT, 0)),
        (
            "SELECT * FROM persons WHERE name = 'O''Brien'",
            QuerySpec("persons", None, (("name", "O'Brien"),), MAX_LIMIT, 0),
        ),
    ],
)
def test_supported_queries(text, expected):
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("DELETE FROM persons", "Only SELECT"),
        ("UPDATE persons SET a = 1", "Only SELECT"),
        ("INSERT INTO persons VALUES (1)", "Only SELECT"),
        ("DROP TABLE persons", "Only SELECT"),
        ("SELECT * FROM persons; DROP TABLE persons", "exactly one statement"),
        ("SELECT * FROM a JOIN b ON a.x = b.x", "JOIN"),
        ("SELECT * FROM persons ORDER BY name", "ORDER BY"),
        ("SELECT region FROM persons GROUP BY region", "GROUP BY"),
        ("SELECT DISTINCT region FROM persons", "DISTINCT"),
        ("SELECT count(*) FROM persons", "not supported"),
        ("SELECT name AS n FROM persons", "aliases"),
        ("SELECT * FROM persons p", "aliases"),
        ("SELECT * FROM persons WHERE age > 3", "only column = value"),
        ("SELECT * FROM persons WHERE a = 1 OR b = 2", "only column = value"),
        ("SELECT * FROM persons WHERE name LIKE 'a%'", "only column = value"),
        ("SELECT * FROM persons WHERE name IN ('a', 'b')", "only column = value"),
        ("SELECT * FROM persons WHERE a = b", "Only literal values"),
        ("SELECT * FROM persons WHERE a = (SELECT 1)", "Only literal values"),
        ("SELECT * FROM (SELECT * FROM persons) t", "FROM must name one table"),
        ("SELECT * FROM other.persons", "FROM must name one table"),
        ("SELECT 1", "FROM <table> is required"),
        ("SELECT * FROM persons LIMIT 1000", "LIMIT is at most"),
        ("SELECT * FROM persons LIMIT 'a'", "whole number"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH"),
        ("SELECT * FROM", "not valid SQL"),
        ("", "non-empty"),
        (None, "non-empty"),
        ("SELECT * FROM persons WHERE " + " AND ".join(f"c{i} = {i}" for i in range(21)), "At most 20"),
        ("x" * 9000, "longer than"),
    ],
)
def test_unsupported_queries_name_the_problem(text, message):
    with pytest.raises(UnsupportedQuery, match=message):
        parse_query(text)


@pytest.mark.parametrize(
    "value",
    ["' OR '1'='1", "x'; DROP TABLE vaults_record; --", "\\' OR 1=1 --", "%' UNION SELECT * FROM accounts_user --"],
)
def test_injection_in_literals_stays_a_literal(value):
    quoted = value.replace("'", "''")
    spec = parse_query(f"SELECT * FROM persons WHERE name = '{quoted}'")
    assert spec.filters == (("name", value),)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM persons WHERE name = '' OR '1'='1'",
        "SELECT * FROM persons WHERE name = 'a' UNION SELECT * FROM accounts_user",
        "SELECT * FROM persons WHERE name = 'a' -- AND region = 'EU'",
    ],
)
def test_injection_around_literals_is_refused_or_harmless(text):
    try:
        spec = parse_query(text)
    except UnsupportedQuery:
        return
    assert spec.table == "persons" and all(isinstance(v, str | int | float | bool) for _, v in spec.filters)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text):
    try:
        parse_query(text)
    except UnsupportedQuery:
        pass
