"""Path patterns of ``.gitattributes`` (which files are LFS) and ``.gitignore`` (which are ignored), matched as
git's wildmatch matches them, without a backtracking regex.

Patterns come from callers (``gitIgnore`` in preupload) and from files anyone may commit or push to a pull
request, so matching must stay cheap whatever they hold. Git matches bytes, and with ``WM_PATHNAME`` no wildcard
crosses a ``/``: a pattern is a list of segments, each matched against one path segment, except ``**`` segments,
which stand for any number of whole segments. Within a segment, the literal runs between ``*`` are found
leftmost-first (greedy is exact when ``*`` matches anything), so a segment costs at most its length times the
pattern's, and the segments are aligned by the classic two-pointer walk with one backtrack point: O(pattern x
path) per match, never exponential. The regexes built here hold no quantifier, so they cannot backtrack either;
and each matcher has a budget of work (roughly microseconds), past which it refuses with a clear error instead
of holding a worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from hubstead.errors import InvalidInputError

LFS_ATTRIBUTE = "filter=lfs"
MAX_ATTRIBUTES_LINE = 2048  # bytes: git ignores longer .gitattributes lines, and fsck flags the file
MAX_CLIENT_PATTERNS = 1000  # gitIgnore rules a caller may send with a preupload
MAX_CLIENT_PATTERN_BYTES = 1024
BUDGET_BASE = 2_000_000  # units of work per matcher, about a microsecond each
BUDGET_PER_QUERY = 2_000
MAX_FOLDER_MEMO_BYTES = 4 * 1024 * 1024
_BLANK = b" \t\r\n"
_SPECIAL = b"*?[\\"


class PatternBudgetExceededError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__(
            "Matching these paths against the .gitignore/.gitattributes patterns takes too long: "
            "send fewer paths per request, or use fewer or simpler patterns"
        )


# --- one segment: chunks of fixed length between '*' ---------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """A fixed-length run of pattern tokens: literal bytes, or a regex without quantifiers."""

    length: int
    literal: bytes | None
    regex: re.Pattern[bytes] | None

    def at(self, text: bytes, pos: int) -> bool:
        if self.literal is not None:
            return text.startswith(self.literal, pos)
        assert self.regex is not None
        return self.regex.match(text, pos) is not None

    def find(self, text: bytes, start: int, end: int) -> int:
        if self.literal is not None:
            return text.find(self.literal, start, end)
        assert self.regex is not None
        found = self.regex.search(text, start, end)
        return -1 if found is None else found.start()


@dataclass(frozen=True)
class _Glob:
    """One path segment's pattern: without a star, one chunk that is the whole segment; with stars, a head at the
    start, a tail at the end and the chunks between them found leftmost-first in order."""

    chunks: tuple[_Chunk, ...]
    starred: bool
    weight: int  # regex tokens: what a search costs per byte of text, beyond a plain find

    def match(self, text: bytes) -> bool:
        if not self.starred:
            chunk = self.chunks[0]
            return len(text) == chunk.length and chunk.at(text, 0)
        head, tail = self.chunks[0], self.chunks[-1]
        end = len(text) - tail.length
        if end < head.length or not head.at(text, 0) or not tail.at(text, end):
            return False
        pos = head.length
        for chunk in self.chunks[1:-1]:
            found = chunk.find(text, pos, end)
            if found < 0:
                return False
            pos = found + chunk.length
        return True


# --- tokens ---------------------------------------------------------------------------------------

# ("lit", byte) | ("any", 0) | ("class", bytes matched) | ("star", run length) | ("sep", 1 if escaped else 0)
_Token = tuple[str, int | frozenset[int]]

_ASCII_CLASSES: dict[bytes, frozenset[int]] = {
    b"alnum": frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"alpha": frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"blank": frozenset(b" \t"),
    b"cntrl": frozenset([*range(32), 127]),
    b"digit": frozenset(b"0123456789"),
    b"graph": frozenset(range(0x21, 0x7F)),
    b"lower": frozenset(b"abcdefghijklmnopqrstuvwxyz"),
    b"print": frozenset(range(0x20, 0x7F)),
    b"punct": frozenset(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    b"space": frozenset(b" \t\n\r"),  # git's isspace: not \v or \f
    b"upper": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"xdigit": frozenset(b"0123456789abcdefABCDEF"),
}
_SLASH = ord("/")


def _bracket(pattern: bytes, start: int) -> tuple[frozenset[int], int] | None:
    """The bytes the bracket expression at ``pattern[start] == "["`` matches, and the index after it; None when
    git would abort (unclosed, or an unknown ``[:class:]``): such a pattern matches nothing."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] in b"!^"
    i += negated
    members: set[int] = set()
    prev, first = 0, True  # prev: the last literal member, 0 after a range or a class (as in git)
    while True:
        if i >= len(pattern):
            return None
        char = pattern[i]
        if char == ord("]") and not first:
            break
        first = False
        if char == ord("\\"):
            i += 1
            if i >= len(pattern):
                return None
            char = pattern[i]
            members.add(char)
        elif char == ord("-") and prev and i + 1 < len(pattern) and pattern[i + 1] != ord("]"):
            i += 1
            char = pattern[i]
            if char == ord("\\"):
                i += 1
                if i >= len(pattern):
                    return None
                char = pattern[i]
            members.update(range(prev, char + 1))
            char = 0
        elif char == ord("[") and pattern.startswith(b":", i + 1):
            end = pattern.find(b"]", i + 2)
            if end < 0:
                return None
            if end - (i + 2) - 1 < 0 or pattern[end - 1] != ord(":"):
                members.add(char)  # no ":]": a plain "[" member, and the ":" is read next
            else:
                named = _ASCII_CLASSES.get(pattern[i + 2 : end - 1])
                if named is None:
                    return None
                members |= named
                char, i = 0, end
        else:
            members.add(char)
        prev = char
        i += 1
    matched = frozenset(b for b in range(256) if (b in members) != negated and b != _SLASH)
    return matched, i + 1


def _tokens(pattern: bytes) -> list[_Token] | None:
    """Tokens of a wildmatch pattern; None if git would abort on it (it then matches nothing)."""
    out: list[_Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == ord("*"):
            run = i
            while run < len(pattern) and pattern[run] == char:
                run += 1
            out.append(("star", run - i))
            i = run
        elif char == ord("?"):
            out.append(("any", 0))
            i += 1
        elif char == ord("["):
            bracket = _bracket(pattern, i)
            if bracket is None:
                return None
            out.append(("class", bracket[0]))
            i = bracket[1]
        elif char == ord("\\"):
            if i + 1 >= len(pattern):
                return None  # a trailing backslash matches nothing
            escaped = pattern[i + 1]
            out.append(("sep", 1) if escaped == _SLASH else ("lit", escaped))
            i += 2
        else:
            out.append(("sep", 0) if char == _SLASH else ("lit", char))
            i += 1
    return out


def _class_regex(members: frozenset[int]) -> bytes:
    """A regex character class of ``members`` as ranges, so its size follows the pattern's, not 256."""
    if not members:
        return b"(?!)"
    ranges: list[list[int]] = []
    for byte in sorted(members):
        if ranges and ranges[-1][1] == byte - 1:
            ranges[-1][1] = byte
        else:
            ranges.append([byte, byte])
    return b"[" + b"".join(b"\\x%02x-\\x%02x" % (lo, hi) for lo, hi in ranges) + b"]"


def _chunk(tokens: list[_Token]) -> _Chunk:
    if all(kind == "lit" for kind, _ in tokens):
        return _Chunk(len(tokens), bytes(value for _, value in tokens if isinstance(value, int)), None)
    parts = []
    for kind, value in tokens:
        if kind == "lit" and isinstance(value, int):
            parts.append(b"\\x%02x" % value)
        elif kind == "any":
            parts.append(b".")
        elif isinstance(value, frozenset):
            parts.append(_class_regex(value))
    return _Chunk(len(tokens), None, re.compile(b"".join(parts), re.DOTALL))


def _glob(tokens: list[_Token]) -> _Glob:
    chunks: list[list[_Token]] = [[]]
    for token in tokens:
        if token[0] == "star":
            chunks.append([])
        else:
            chunks[-1].append(token)
    if len(chunks) == 1:
        built: tuple[_Chunk, ...] = (_chunk(chunks[0]),)
    else:  # the head and tail stay, even empty; empty middles (from "**") go
        built = (_chunk(chunks[0]), *(_chunk(c) for c in chunks[1:-1] if c), _chunk(chunks[-1]))
    weight = sum(c.length for c in built if c.regex is not None)
    return _Glob(built, len(chunks) > 1, weight)


# --- whole patterns -------------------------------------------------------------------------------

_ANY_SEGMENT = "any"  # one path segment, whatever it holds
_SEGMENTS = "**"  # zero or more path segments
_Item = _Glob | str


@dataclass(frozen=True)
class _Pattern:
    """A compiled pattern: matched against the basename, or against the whole path (after a literal prefix)."""

    basename: bool
    literal: bytes | None  # the whole pattern, when it has no wildcard
    prefix: bytes
    items: tuple[_Item, ...] | None  # None: matches nothing

    @property
    def cost(self) -> int:
        return len(self.items or ())


def _segment_items(tokens: list[_Token]) -> tuple[_Item, ...]:
    """Split at ``/`` into segment globs; a segment that is only stars is ``**``: zero or more whole segments
    before a ``/``, and one or more (everything below) at the end or before an escaped ``\\/``, as in git."""
    segments: list[list[_Token]] = [[]]
    escaped_after: list[bool] = []
    for token in tokens:
        if token[0] == "sep":
            escaped_after.append(bool(token[1]))
            segments.append([])
        else:
            segments[-1].append(token)
    escaped_after.append(True)  # the end behaves as an escaped slash: at least one segment
    items: list[_Item] = []
    for segment, one_or_more in zip(segments, escaped_after, strict=True):
        if len(segment) == 1 and segment[0][0] == "star" and segment[0][1] != 1:
            items.extend([_ANY_SEGMENT, _SEGMENTS] if one_or_more else [_SEGMENTS])
        else:
            items.append(_glob(segment))
    return tuple(items)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: bytes, basename: bool) -> _Pattern:
    """``pattern`` as git reads it from one line (no ``!``, no trailing ``/``). Basename patterns (no ``/``) are
    matched against a path's last segment; the others against the whole path, after git's literal prefix:
    everything before the first of ``*?[\\`` is compared as bytes first, and the rest matched from there."""
    simple = len(pattern)
    for i, char in enumerate(pattern):
        if char in _SPECIAL:
            simple = i
            break
    literal = pattern if simple == len(pattern) else None
    if basename:
        tokens = _tokens(pattern)
        items = None if tokens is None else (_glob(tokens),)
        return _Pattern(True, literal, b"", items)
    if pattern.startswith(b"/"):
        pattern, simple = pattern[1:], simple - 1
        literal = pattern if literal is not None else None
    tokens = _tokens(pattern[simple:])
    return _Pattern(False, literal, pattern[:simple], None if tokens is None else _segment_items(tokens))


class _Budget:
    def __init__(self) -> None:
        self.left = BUDGET_BASE
        self.spent = 0

    def query(self) -> None:
        self.left += BUDGET_PER_QUERY

    def spend(self, units: int) -> None:
        self.spent += units
        self.left -= units
        if self.left < 0:
            raise PatternBudgetExceededError()


def _match_items(items: tuple[_Item, ...], segments: list[bytes], budget: _Budget) -> bool:
    """Two pointers over pattern items and path segments, backtracking only to the last ``**``."""
    p = s = 0
    star_p, star_s = -1, 0
    while s < len(segments):
        if p < len(items) and items[p] is _SEGMENTS:
            star_p, star_s = p, s
            p += 1
            continue
        if p < len(items):
            item = items[p]
            if isinstance(item, _Glob):
                budget.spend(1 + (len(segments[s]) * item.weight >> 6))
            if item is _ANY_SEGMENT or (isinstance(item, _Glob) and item.match(segments[s])):
                p += 1
                s += 1
                continue
        if star_p < 0:
            return False
        p, star_s = star_p + 1, star_s + 1
        s = star_s
    return all(item is _SEGMENTS for item in items[p:])


def _matches(pattern: _Pattern, path: bytes, basename: bytes, budget: _Budget) -> bool:
    if pattern.items is None:
        return False
    if pattern.basename:
        glob = pattern.items[0]
        assert isinstance(glob, _Glob)
        budget.spend(1 + (len(basename) * glob.weight >> 6))
        return glob.match(basename)
    if not path.startswith(pattern.prefix):
        return False
    return _match_items(pattern.items, path[len(pattern.prefix) :].split(b"/"), budget)


@dataclass(frozen=True)
class _Rule:
    index: int
    pattern: _Pattern
    verdict: bool  # LFS or not; excluded or re-included


class _RuleSet:
    """Rules where the last one matching a path decides. Patterns without wildcards are looked up in a dict;
    the others are tried from the last one back, down to the best literal match."""

    def __init__(self, rules: list[_Rule], budget: _Budget) -> None:
        self.budget = budget
        self.by_basename: dict[bytes, _Rule] = {}
        self.by_path: dict[bytes, _Rule] = {}
        self.wildcards: list[_Rule] = []
        for rule in rules:
            if rule.pattern.items is None:
                continue
            if rule.pattern.literal is None:
                self.wildcards.append(rule)
            else:
                (self.by_basename if rule.pattern.basename else self.by_path)[rule.pattern.literal] = rule

    def decide(self, path: bytes) -> _Rule | None:
        self.budget.spend(1 + (len(path) >> 6))
        basename = path.rsplit(b"/", 1)[-1]
        candidates = [r for r in (self.by_basename.get(basename), self.by_path.get(path)) if r is not None]
        best = max(candidates, key=lambda r: r.index, default=None)
        for rule in reversed(self.wildcards):
            if best is not None and rule.index < best.index:
                break
            if _matches(rule.pattern, path, basename, self.budget):
                return rule
        return best


def _encode(path: str) -> bytes:
    return path.encode("utf-8", "surrogatepass")


# --- .gitattributes -----------------------------------------------------------------------------


def _unquote(line: bytes) -> tuple[bytes, bytes] | None:
    """A C-quoted pattern at the start of ``line`` (``"a b" filter=lfs``) and the rest; None if unterminated."""
    escapes = {ord(k): v for k, v in zip('abfnrtv\\"', b'\a\b\f\n\r\t\v\\"', strict=True)}
    out, i = bytearray(), 1
    while i < len(line):
        char = line[i]
        if char == ord('"'):
            return bytes(out), line[i + 1 :]
        if char == ord("\\") and i + 1 < len(line):
            nxt = line[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
                continue
            octal = line[i + 1 : i + 4]
            if len(octal) == 3 and all(48 <= c <= 55 for c in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            return None
        out.append(char)
        i += 1
    return None


_ATTR_NAME_BYTES = frozenset(b"-._0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _split_blank(text: bytes) -> tuple[bytes, bytes]:
    """The text up to the first blank, and the rest (git's strcspn over " \\t\\r\\n")."""
    for i, char in enumerate(text):
        if char in _BLANK:
            return text[:i], text[i:]
    return text, b""


def _attributes_line(line: bytes) -> tuple[bytes, bool | None] | None:
    """(pattern, LFS verdict or None when the line leaves ``filter`` alone), or None for a line git skips."""
    if len(line) >= MAX_ATTRIBUTES_LINE:
        return None
    line = line.lstrip(_BLANK)
    if not line or line.startswith(b"#"):
        return None
    quoted = _unquote(line) if line.startswith(b'"') else None
    pattern, states = quoted if quoted is not None else _split_blank(line)
    if pattern.startswith((b"[attr]", b"!")):
        return None  # a macro definition, or a negative pattern git refuses in attributes
    verdict: bool | None = None
    while states := states.lstrip(_BLANK):
        state, states = _split_blank(states)
        name, equals, value = state.partition(b"=")
        sign = name[:1] if name[:1] in (b"-", b"!") else b""
        bare = name[len(sign) :]
        if not bare or bare.startswith((b"-", b"builtin_")) or not set(bare) <= _ATTR_NAME_BYTES:
            return None  # git drops a line with an invalid attribute name
        if bare == b"filter":
            verdict = not sign and bool(equals) and value == b"lfs"
    return pattern, verdict


class LfsMatcher:
    """Whether ``.gitattributes`` sets ``filter=lfs`` on a path (the last line setting ``filter`` wins)."""

    def __init__(self, gitattributes: str) -> None:
        self.budget = _Budget()
        rules = []
        for index, line in enumerate(_encode(gitattributes).split(b"\n")):
            pattern, lfs = _attributes_line(line) or (b"", None)
            if lfs is None or pattern.endswith(b"/"):
                continue  # "dir/" patterns match folders, never the files inside them
            rules.append(_Rule(index, compile_pattern(pattern, b"/" not in pattern), lfs))
        self.rules = _RuleSet(rules, self.budget)

    def __call__(self, path: str) -> bool:
        self.budget.query()
        rule = self.rules.decide(_encode(path))
        return rule is not None and rule.verdict


def lfs_matcher(gitattributes: str) -> LfsMatcher:
    """A predicate telling whether ``.gitattributes`` marks a path as LFS (last matching line wins)."""
    return LfsMatcher(gitattributes)


def lfs_attribute_line(path: str) -> str:
    escaped = re.sub(r"([*?\[\]\\])", r"\\\1", path).replace(" ", "[[:space:]]")
    if escaped.startswith(("#", "!")):  # a comment, or a negative pattern git refuses
        escaped = "\\" + escaped
    return f"{escaped} filter=lfs diff=lfs merge=lfs -text"


# --- .gitignore ---------------------------------------------------------------------------------


def _trim_trailing_spaces(line: bytes) -> bytes:
    """Trailing spaces go, unless escaped with a backslash (git's trim_trailing_spaces)."""
    last_space, i = -1, 0
    while i < len(line):
        if line[i] == ord(" "):
            last_space = i if last_space < 0 else last_space
        elif line[i] == ord("\\"):
            i += 1
            if i >= len(line):
                return line
            last_space = -1
        else:
            last_space = -1
        i += 1
    return line if last_space < 0 else line[:last_space]


def ignore_rules(gitignore: str) -> Iterator[tuple[bytes, bool, bool]]:
    """(pattern, negated, only folders) for each rule of a ``.gitignore``, read as git reads it."""
    text = _encode(gitignore).removeprefix(b"\xef\xbb\xbf")
    for raw in text.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line or line.startswith(b"#"):
            continue
        line = _trim_trailing_spaces(line)
        negated = line.startswith(b"!")
        pattern = line[1:] if negated else line
        folder_only = pattern.endswith(b"/")
        yield (pattern[:-1] if folder_only else pattern), negated, folder_only


def check_client_gitignore(gitignore: str) -> None:
    """A ``gitIgnore`` sent by a caller: at most MAX_CLIENT_PATTERNS rules of MAX_CLIENT_PATTERN_BYTES each."""
    for count, (pattern, _, _) in enumerate(ignore_rules(gitignore), start=1):
        if count > MAX_CLIENT_PATTERNS:
            raise InvalidInputError(f"'gitIgnore' may hold at most {MAX_CLIENT_PATTERNS} patterns")
        if len(pattern) > MAX_CLIENT_PATTERN_BYTES:
            raise InvalidInputError(f"'gitIgnore' patterns may be at most {MAX_CLIENT_PATTERN_BYTES} bytes long")


class IgnoreMatcher:
    """Whether ``.gitignore`` ignores a path: as git, each folder, then the file, is judged by the last rule
    matching it, and nothing inside an excluded folder can be re-included."""

    def __init__(self, gitignore: str) -> None:
        self.budget = _Budget()
        rules = [
            (_Rule(i, compile_pattern(pattern, b"/" not in pattern), not negated), folder_only)
            for i, (pattern, negated, folder_only) in enumerate(ignore_rules(gitignore))
        ]
        self.for_files = _RuleSet([rule for rule, folder_only in rules if not folder_only], self.budget)
        self.for_folders = _RuleSet([rule for rule, _ in rules], self.budget)
        self.folders: dict[bytes, bool] = {}  # folder -> excluded by its own rules (files share folders)
        self.memo_bytes = 0

    def _folder_excluded(self, folder: bytes) -> bool:
        prefix = b""
        for part in folder.split(b"/"):
            prefix = prefix + b"/" + part if prefix else part
            excluded = self.folders.get(prefix)
            if excluded is None:
                rule = self.for_folders.decide(prefix)
                excluded = rule is not None and rule.verdict
                if self.memo_bytes < MAX_FOLDER_MEMO_BYTES:
                    self.folders[prefix] = excluded
                    self.memo_bytes += len(prefix)
            if excluded:
                return True
        return False

    def __call__(self, path: str) -> bool:
        self.budget.query()
        encoded = _encode(path)
        folder = encoded.rpartition(b"/")[0]
        if folder and self._folder_excluded(folder):
            return True
        rule = self.for_files.decide(encoded)
        return rule is not None and rule.verdict


def ignore_matcher(gitignore: str) -> IgnoreMatcher:
    """A predicate telling whether ``.gitignore`` ignores a path (or one of its folders)."""
    return IgnoreMatcher(gitignore)


# --- path globs (a dataset card's data_files) ---------------------------------------------------


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate matching repo paths against one glob as git's wildmatch does (``*`` within a segment,
    ``**`` across them), linear and under a work budget like every matcher here."""
    compiled = compile_pattern(_encode(pattern.lstrip("/")), False)
    budget = _Budget()

    def match(path: str) -> bool:
        budget.query()
        return _matches(compiled, _encode(path), b"", budget)

    return match
