"""JSON from callers, parsed with bounds: every JSON body and NDJSON line the hub reads goes through ``loads``.

``json.loads`` alone nests as deep as the interpreter's recursion limit and then raises RecursionError (a 500),
and what it returns is walked again by validation and error reporting; it also accepts ``NaN`` and
``Infinity``, which are not JSON and break integer conversions. Sizes are bounded by whoever reads the body."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class InvalidJsonError(ValueError):
    """Not JSON, or JSON past the bounds; the message says which, in words fit for a caller."""


def _no_constants(name: str) -> Any:
    raise InvalidJsonError(f"not valid JSON ({name} is not a JSON value)")


def loads(
    data: bytes | bytearray | memoryview | str, max_depth: int = MAX_DEPTH, *, allow_constants: bool = False
) -> Any:
    """``data`` parsed as JSON, nested at most ``max_depth`` arrays/objects deep; InvalidJsonError otherwise.
    ``allow_constants`` lets ``NaN`` and ``Infinity`` through, as Python writes them in files people commit."""
    constants = None if allow_constants else _no_constants
    try:
        value = json.loads(bytes(data) if isinstance(data, memoryview) else data, parse_constant=constants)
    except RecursionError:
        raise InvalidJsonError(f"JSON nested deeper than {max_depth} levels") from None
    except InvalidJsonError:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of too many digits
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
        raise InvalidJsonError(reason) from None
    if depth_exceeds(value, max_depth):
        raise InvalidJsonError(f"JSON nested deeper than {max_depth} levels")
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects in ``value`` nest deeper than ``max_depth`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
