"""where/orderby: parsed against the split's columns into SQL whose every value is a bound parameter."""

from __future__ import annotations

import pytest

from hubstead.datasets.filters import parse_orderby, parse_where
from hubstead.errors import InvalidViewerParameterError

COLUMNS = ["text", "label", "score", 'odd "name"']


@pytest.mark.parametrize(
    ("where", "sql", "params"),
    [
        ('"label" = 1', '("label" = ?)', [1]),
        ("label != 'x'", '("label" <> ?)', ["x"]),
        ("\"text\" = 'it''s'", '("text" = ?)', ["it's"]),
        ('"score" >= -0.5e1 AND "label" IN (1, 2)', '(("score" >= ?) AND ("label" IN (?, ?)))', [-5.0, 1, 2]),
        ('NOT ("text" IS NULL OR "text" LIKE \'%a%\')', '(NOT ((("text" IS NULL) OR ("text" LIKE ?))))', ["%a%"]),
        ('"score" NOT BETWEEN 0 AND 1', '("score" NOT BETWEEN ? AND ?)', [0, 1]),
        ('"odd ""name""" = true', '("odd ""name""" = ?)', [True]),
    ],
)
def test_where_becomes_sql_with_bound_values(where: str, sql: str, params: list[object]) -> None:
    parsed = parse_where(where, COLUMNS)
    assert (parsed.text, parsed.params) == (sql, params)


@pytest.mark.parametrize(
    "where",
    [
        '"label" = 1; DROP TABLE data',
        "\"text\" = read_csv('/etc/passwd')",
        '"label" IN (SELECT 1)',
        "COPY data TO '/tmp/x'",
        '"label" = 1 -- c',
        '"label" = 1 /* c */',
        '"label" = "score"',
        '"nope" = 1',
        '"label" = 1 OR',
        '("label" = 1',
        '"label" == 1',
        '"text" = \'unterminated',
        "label = 1 UNION SELECT * FROM tokens",
        "(" * 40 + '"label" = 1' + ")" * 40,
        "",
        "x" * 5000,
    ],
)
def test_anything_outside_the_grammar_is_refused(where: str) -> None:
    with pytest.raises(InvalidViewerParameterError):
        parse_where(where, COLUMNS)


def test_orderby_names_known_columns_with_a_direction() -> None:
    assert parse_orderby('"score" DESC, label asc, text', COLUMNS) == '"score" DESC, "label" ASC, "text" ASC'


@pytest.mark.parametrize("orderby", ["random()", '"score"; DROP', '"score" DESC NULLS FIRST', "1", '"nope"', ""])
def test_orderby_outside_the_grammar_is_refused(orderby: str) -> None:
    with pytest.raises(InvalidViewerParameterError):
        parse_orderby(orderby, COLUMNS)
