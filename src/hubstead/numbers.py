"""Integers from text callers send (query parameters, URL parts, headers): ASCII digits only, since
``str.isdigit`` accepts "²" and "①", which ``int`` then refuses, and a bounded number of them, since ``int``
refuses more than 4300 digits and a database column holds 64 bits."""

from __future__ import annotations

MAX_DIGITS = 18  # fits a signed 64-bit column


def parse_decimal(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """The non-negative integer ``text`` spells in at most ``max_digits`` ASCII digits, else None."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
