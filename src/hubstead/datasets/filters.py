"""The viewer's ``where`` and ``orderby`` parameters, parsed into a small syntax tree checked against the split's
columns, then rendered as SQL with every value a bound parameter. Nothing a caller writes reaches DuckDB as text:
columns are looked up among the split's own and re-quoted, values become ``?``; functions, sub-queries,
statements, comments and file names have no place in the grammar, so they are refused (400) before any query.

    where   := or
    or      := and ("OR" and)*
    and     := not ("AND" not)*
    not     := "NOT" not | "(" or ")" | test
    test    := column op value | column "IS" ["NOT"] "NULL" | column ["NOT"] "IN" "(" value ("," value)* ")"
             | column ["NOT"] ("LIKE" | "ILIKE") string | column ["NOT"] "BETWEEN" value "AND" value
    column  := "double-quoted name" | bare name          value := number | 'string' | TRUE | FALSE
    orderby := column ["ASC" | "DESC"] ("," column ["ASC" | "DESC"])*
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hubstead.datasets.index import quote
from hubstead.errors import InvalidViewerParameterError

MAX_TEXT = 4096  # characters of a where or orderby
MAX_TOKENS = 512
MAX_DEPTH = 32
MAX_IN_VALUES = 100
OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")
TOKEN = re.compile(
    r"""\s+|"(?:[^"]|"")*"|'(?:[^']|'')*'|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|<=|>=|!=|<>|[=<>(),]|[A-Za-z_][A-Za-z0-9_]*"""
)
KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IS", "NULL", "IN", "LIKE", "ILIKE", "BETWEEN", "TRUE", "FALSE", "ASC", "DESC"}
)


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, op, punct, keyword
    text: str
    value: Any = None


@dataclass
class Sql:
    text: str
    params: list[Any] = field(default_factory=list)


def _error(message: str) -> InvalidViewerParameterError:
    return InvalidViewerParameterError(message)


def tokenize(text: str, name: str) -> list[Token]:
    if len(text) > MAX_TEXT:
        raise _error(f"Parameter '{name}' is too long (at most {MAX_TEXT} characters)")
    if ";" in text or "--" in text or "/*" in text:
        raise _error(f"Parameter '{name}' contains a forbidden character sequence (';', '--' or '/*')")
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = TOKEN.match(text, at)
        if match is None:
            raise _error(f"Parameter '{name}': unexpected character {text[at]!r} at position {at}")
        at = match.end()
        piece = match.group()
        if piece.isspace():
            continue
        tokens.append(_token(piece))
        if len(tokens) > MAX_TOKENS:
            raise _error(f"Parameter '{name}' is too complex (at most {MAX_TOKENS} tokens)")
    return tokens


def _token(piece: str) -> Token:
    if piece.startswith('"'):
        return Token("ident", piece[1:-1].replace('""', '"'))
    if piece.startswith("'"):
        return Token("string", piece, piece[1:-1].replace("''", "'"))
    if piece[0].isdigit() or piece[0] == "-":
        number = float(piece) if any(c in piece for c in ".eE") else int(piece)
        return Token("number", piece, number)
    if piece in OPERATORS:
        return Token("op", piece)
    if piece in "(),":
        return Token("punct", piece)
    if piece.upper() in KEYWORDS:
        return Token("keyword", piece.upper())
    return Token("ident", piece)


class _Parser:
    def __init__(self, tokens: list[Token], columns: Iterable[str], name: str) -> None:
        self.tokens = tokens
        self.at = 0
        self.columns = set(columns)
        self.name = name
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise _error(f"Parameter '{self.name}' ends too early")
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "keyword" and token.text in words:
            self.at += 1
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.take()
        if token.kind != kind or (text is not None and token.text != text):
            raise _error(f"Parameter '{self.name}': expected {text or kind}, found {token.text!r}")
        return token

    def column(self) -> str:
        token = self.take()
        if token.kind != "ident":
            raise _error(f"Parameter '{self.name}': expected a column name, found {token.text!r}")
        if token.text not in self.columns:
            raise _error(f"Parameter '{self.name}': no column named {token.text!r} in this split")
        return quote(token.text)

    def value(self, sql: Sql) -> str:
        token = self.take()
        if token.kind in ("string", "number"):
            sql.params.append(token.value)
            return "?"
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            sql.params.append(token.text == "TRUE")
            return "?"
        raise _error(
            f"Parameter '{self.name}': expected a value ('string', number, true or false), found {token.text!r}"
        )

    # --- where --------------------------------------------------------------------------------

    def or_(self, sql: Sql) -> str:
        parts = [self.and_(sql)]
        while self.keyword("OR"):
            parts.append(self.and_(sql))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_(self, sql: Sql) -> str:
        parts = [self.not_(sql)]
        while self.keyword("AND"):
            parts.append(self.not_(sql))
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_(self, sql: Sql) -> str:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(f"Parameter '{self.name}' is nested too deeply")
        try:
            if self.keyword("NOT"):
                return f"(NOT {self.not_(sql)})"
            token = self.peek()
            if token is not None and token.kind == "punct" and token.text == "(":
                self.at += 1
                inner = self.or_(sql)
                self.expect("punct", ")")
                return f"({inner})"
            return self.test(sql)
        finally:
            self.depth -= 1

    def test(self, sql: Sql) -> str:
        column = self.column()
        if self.keyword("IS"):
            negate = self.keyword("NOT")
            self.expect("keyword", "NULL")
            return f"({column} IS {'NOT ' if negate else ''}NULL)"
        negate = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect("punct", "(")
            values = [self.value(sql)]
            while self.peek() is not None and self.peek() == Token("punct", ","):
                self.at += 1
                values.append(self.value(sql))
                if len(values) > MAX_IN_VALUES:
                    raise _error(f"Parameter '{self.name}': at most {MAX_IN_VALUES} values in IN (...)")
            self.expect("punct", ")")
            return f"({column} {'NOT ' if negate else ''}IN ({', '.join(values)}))"
        for word in ("LIKE", "ILIKE"):
            if self.keyword(word):
                token = self.expect("string")
                sql.params.append(token.value)
                return f"({column} {'NOT ' if negate else ''}{word} ?)"
        if self.keyword("BETWEEN"):
            low = self.value(sql)
            self.expect("keyword", "AND")
            high = self.value(sql)
            return f"({column} {'NOT ' if negate else ''}BETWEEN {low} AND {high})"
        if negate:
            raise _error(f"Parameter '{self.name}': NOT must come before IN, LIKE or BETWEEN here")
        op = self.expect("op").text
        return f"({column} {'<>' if op == '!=' else op} {self.value(sql)})"


def parse_where(text: str, columns: Iterable[str]) -> Sql:
    """``where`` as SQL over the split's ``columns``, with its values as parameters; InvalidViewerParameterError
    (400) for anything outside the grammar."""
    parser = _Parser(tokenize(text, "where"), columns, "where")
    if not parser.tokens:
        raise _error("Parameter 'where' is empty")
    sql = Sql("")
    sql.text = parser.or_(sql)
    if parser.peek() is not None:
        raise _error(f"Parameter 'where': unexpected {parser.peek().text!r}")  # type: ignore[union-attr]
    return sql


def parse_orderby(text: str, columns: Iterable[str]) -> str:
    """``orderby`` as SQL: known columns, each ASC or DESC."""
    parser = _Parser(tokenize(text, "orderby"), columns, "orderby")
    if not parser.tokens:
        raise _error("Parameter 'orderby' is empty")
    items = []
    while True:
        column = parser.column()
        direction = "DESC" if parser.keyword("DESC") else "ASC"
        parser.keyword("ASC")
        items.append(f"{column} {direction}")
        token = parser.peek()
        if token is None:
            break
        parser.expect("punct", ",")
    return ", ".join(items)
