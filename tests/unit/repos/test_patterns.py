"""``.gitattributes`` and ``.gitignore`` matching. Every expectation here was checked against git itself
(``git check-attr filter`` and ``git check-ignore --no-index``)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from hubstead.errors import InvalidInputError
from hubstead.repos.patterns import (
    MAX_CLIENT_PATTERN_BYTES,
    MAX_CLIENT_PATTERNS,
    PatternBudgetExceededError,
    check_client_gitignore,
    ignore_matcher,
    lfs_attribute_line,
    lfs_matcher,
)

# the .gitattributes huggingface.co puts in every new model repo (abridged)
HUB_DEFAULT_GITATTRIBUTES = """\
*.7z filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
"""


@pytest.mark.parametrize(
    ("path", "is_lfs"),
    [
        ("pytorch_model.bin", True),
        ("checkpoints/step-10/pytorch_model.bin", True),
        ("model.safetensors", True),
        ("saved_model/saved_model.pb", True),
        ("saved_model/variables/variables.data-00000-of-00001", True),
        ("runs/Jan01/events.out.tfevents.1700000000.host", True),
        ("README.md", False),
        ("config.json", False),
        ("model.bin.json", False),
        ("saved_model", False),
        ("nested/saved_model/saved_model.pb", False),
    ],
)
def test_hub_default_gitattributes_marks_weights_as_lfs(path: str, is_lfs: bool) -> None:
    assert lfs_matcher(HUB_DEFAULT_GITATTRIBUTES)(path) is is_lfs


@pytest.mark.parametrize("unset", ["-filter", "!filter"])
@pytest.mark.parametrize(("path", "is_lfs"), [("small.bin", False), ("sub/small.bin", False), ("big.bin", True)])
def test_later_line_unsetting_filter_takes_a_file_out_of_lfs(unset: str, path: str, is_lfs: bool) -> None:
    gitattributes = f"*.bin filter=lfs diff=lfs merge=lfs -text\nsmall.bin {unset}\n"

    assert lfs_matcher(gitattributes)(path) is is_lfs


def test_last_matching_line_wins() -> None:
    gitattributes = "small.bin -filter\n*.bin filter=lfs diff=lfs merge=lfs -text\n"

    assert lfs_matcher(gitattributes)("small.bin") is True


@pytest.mark.parametrize(
    ("pattern", "path", "is_lfs"),
    [
        ("my[[:space:]]file.bin", "my file.bin", True),
        ("my[[:space:]]file.bin", "deep/my file.bin", True),
        ("my[[:space:]]file.bin", "myxfile.bin", False),
        ("/top.bin", "top.bin", True),
        ("/top.bin", "sub/top.bin", False),
        ("data/*.bin", "data/a.bin", True),
        ("data/*.bin", "data/deeper/a.bin", False),
        ("data/*.bin", "other/data/a.bin", False),
        ("**/data/*.bin", "x/y/data/a.bin", True),
        ("weights-?.bin", "weights-1.bin", True),
        ("weights-?.bin", "weights-10.bin", False),
        ("*.[pP][tT]", "model.PT", True),
        ("*.[pP][tT]", "model.pt", True),
        ("*.[pP][tT]", "model.px", False),
        ("shard-[!0-4].bin", "shard-7.bin", True),
        ("shard-[!0-4].bin", "shard-3.bin", False),
        ("shard-[[:digit:]].bin", "shard-3.bin", True),
        ("shard-[[:digit:]].bin", "shard-x.bin", False),
    ],
)
def test_wildmatch_patterns(pattern: str, path: str, is_lfs: bool) -> None:
    assert lfs_matcher(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n")(path) is is_lfs


def test_comments_blank_lines_and_other_attributes_are_not_lfs() -> None:
    gitattributes = "# *.txt filter=lfs\n\n   \n*.txt text eol=lf\n*.bin binary\n"
    is_lfs = lfs_matcher(gitattributes)

    assert not is_lfs("notes.txt")
    assert not is_lfs("blob.bin")


def test_negative_patterns_are_ignored_as_git_does() -> None:
    assert lfs_matcher("!model.bin filter=lfs diff=lfs merge=lfs -text\n")("model.bin") is False


def test_empty_gitattributes_has_no_lfs_file() -> None:
    assert lfs_matcher("")("model.bin") is False


@pytest.mark.parametrize(
    "path",
    [
        "my file.bin",
        "two  spaces.bin",
        "folder with space/weights.bin",
        "a*b.bin",
        "star*/in*folder.bin",
        "question?.bin",
        "[bracketed].bin",
        "#hash.bin",
        "!bang.bin",
    ],
)
def test_lfs_attribute_line_round_trips_through_lfs_matcher(path: str) -> None:
    is_lfs = lfs_matcher(lfs_attribute_line(path) + "\n")

    assert is_lfs(path)


@pytest.mark.parametrize(
    ("path", "lookalike"),
    [
        ("a*b.bin", "aXXb.bin"),
        ("question?.bin", "questionX.bin"),
        ("[bracketed].bin", "b.bin"),
        ("folder with space/weights.bin", "folder with space/other.bin"),
    ],
)
def test_lfs_attribute_line_matches_only_its_own_path(path: str, lookalike: str) -> None:
    assert not lfs_matcher(lfs_attribute_line(path) + "\n")(lookalike)


def test_lfs_attribute_line_sets_the_lfs_attributes() -> None:
    assert lfs_attribute_line("model.bin") == "model.bin filter=lfs diff=lfs merge=lfs -text"


@pytest.mark.parametrize(
    ("gitignore", "path", "ignored"),
    [
        ("*.log\n", "debug.log", True),
        ("*.log\n", "logs/deep/debug.log", True),
        ("*.log\n", "debug.log.txt", False),
        ("*.log\n!important.log\n", "important.log", False),
        ("*.log\n!important.log\n", "sub/important.log", False),
        ("*.log\n!important.log\n", "sub/other.log", True),
        ("build/\n", "build/out.bin", True),
        ("build/\n", "src/build/out.bin", True),
        ("build/\n", "build", False),  # a folder-only rule never matches a file
        ("build/\n", "builder/out.bin", False),
        ("/root.txt\n", "root.txt", True),
        ("/root.txt\n", "sub/root.txt", False),
        ("docs/*.md\n", "docs/a.md", True),
        ("docs/*.md\n", "docs/sub/a.md", False),
        ("docs/*.md\n", "x/docs/a.md", False),
        ("**/cache\n", "a/b/cache/entry", True),
        ("a/**/b\n", "a/x/y/b", True),
        ("logs/*\n!logs/keep\n", "logs/keep", False),
        ("logs/*\n!logs/keep\n", "logs/other", True),
        ("logs/*\n!logs/keep\n", "logs/sub/file", True),
        ("# *.txt\n\n*.tmp\n", "notes.txt", False),
        ("# *.txt\n\n*.tmp\n", "x.tmp", True),
        ("", "anything", False),
    ],
)
def test_gitignore_matching(gitignore: str, path: str, ignored: bool) -> None:
    assert ignore_matcher(gitignore)(path) is ignored


def test_file_inside_an_excluded_folder_cannot_be_re_included() -> None:
    assert ignore_matcher("build/\n!build/keep.txt\n")("build/keep.txt") is True


def test_re_including_a_folder_keeps_rules_for_its_files() -> None:
    assert ignore_matcher("*.txt\n!dir/\n")("dir/a.txt") is True


@pytest.mark.parametrize(
    ("path", "ignored"),
    [("train.py", False), ("src/model.py", False), ("src/data.csv", True), ("notes.txt", True)],
)
def test_whitelist_idiom_ignores_everything_but_python_files(path: str, ignored: bool) -> None:
    assert ignore_matcher("*\n!*/\n!*.py\n")(path) is ignored


# --- git as the oracle: generated patterns and paths, judged by git itself ------------------------------------

PATTERN_TOKENS = ["a", "b", "ab", "*", "**", "?", "/", "[ab]", "[!a]", "[a-c]", "[]a]", "[[:alpha:]]", "\\*", ".", "["]
PATH_SEGMENTS = ["a", "b", "ab", "ba", "aab", "a.b", "x", "*"]


def _generated_cases(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        pattern = "".join(rng.choice(PATTERN_TOKENS) for _ in range(rng.randint(1, 6)))
        if pattern.startswith(("#", "!", '"')):
            continue
        path = "/".join(rng.choice(PATH_SEGMENTS) for _ in range(rng.randint(1, 4)))
        cases.append((pattern, path))
    return cases


TRICKY_CASES = [
    ("a**/b", "a/b"), ("a**/b", "ax/y/b"), ("x/foo**", "x/foobar/baz"), ("x/foo**", "x/foo"), ("x/**y", "x/a/y"),
    ("x/**y", "x/ay"), ("a[b", "a[b"), ("[]a]", "]"), ("[!]a]", "b"), ("[[:foo:]]", "a"), ("[[:x]", "x"),
    ("[[:x]", "["), ("a/**", "a"), ("a/**", "a/b/c"), ("**", "a/b"), ("**/b", "b"), ("a/**/b", "a/b"),
    ("**\\/b", "b"), ("**\\/b", "x/b"), ("weights-?.bin", "weights-\u00e9.bin"),
    ("weights-??.bin", "weights-\u00e9.bin"),
    ("[a/b]x", "ax"), ("*/b", "a/c/b"), ("abc\\", "abc"), ("[z-a]", "z"), ("[a-]", "-"), ("[\\]]", "]"),
    ("***/b", "x/b"), ("a/***", "a/x"), ("[[:space:]]", "\x0b"), ("[[:punct:]]", "_"), ("[!a]", "\u00e9"),
    ("*a*a*a*b", "aaaaab"), ("*a*a*a*b", "aaaaa"), ("a*/*b", "ab/ab"), ("\\a\\*", "a*"),
]  # fmt: skip


def _git_lfs_verdicts(tmp_path: Path, cases: list[tuple[str, str]]) -> list[bool]:
    """``git check-attr filter`` for each (pattern, path), each pattern in its own folder's .gitattributes."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    queries = []
    for k, (pattern, path) in enumerate(cases):
        (tmp_path / f"c{k}").mkdir()
        (tmp_path / f"c{k}" / ".gitattributes").write_bytes(pattern.encode() + b" filter=lfs\n")
        queries.append(f"c{k}/{path}")
    out = subprocess.run(
        ["git", "-C", str(tmp_path), "check-attr", "--stdin", "-z", "filter"],
        input="\0".join(queries).encode() + b"\0",
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return [out[i + 2] == b"lfs" for i in range(0, len(out) - 1, 3)]


@pytest.mark.parametrize("seed", [1, 2])
def test_gitattributes_matching_agrees_with_git(tmp_path: Path, seed: int) -> None:
    cases = TRICKY_CASES + _generated_cases(seed, 600)

    expected = _git_lfs_verdicts(tmp_path, cases)

    ours = [lfs_matcher(f"{pattern} filter=lfs\n")(path) for pattern, path in cases]
    assert [c for c, a, b in zip(cases, ours, expected, strict=True) if a != b] == []


def _git_ignored(tmp_path: Path, cases: list[tuple[str, str]]) -> list[bool]:
    """What ``git ls-files --others --ignored`` lists: each case a folder with its .gitignore and its file."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for k, (gitignore, path) in enumerate(cases):
        (tmp_path / f"c{k}" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"c{k}" / path).write_bytes(b"x")
        (tmp_path / f"c{k}" / ".gitignore").write_text(gitignore)
    listed = subprocess.run(
        ["git", "-C", str(tmp_path), "ls-files", "-z", "--others", "--ignored", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    ignored = set(listed.split("\0"))
    return [f"c{k}/{path}" in ignored for k, (_, path) in enumerate(cases)]


def _generated_gitignores(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    cases = []
    for pattern, path in _generated_cases(seed, count):
        rules = [pattern]
        for _ in range(rng.randint(0, 2)):
            other, _ = _generated_cases(rng.randint(0, 10**6), 1)[0]
            rules.append(rng.choice(["", "!"]) + other + rng.choice(["", "/"]))
        cases.append(("\n".join(rules) + "\n", path.replace("*", "star")))
    return cases


@pytest.mark.parametrize("seed", [3, 4])
def test_gitignore_matching_agrees_with_git(tmp_path: Path, seed: int) -> None:
    cases = _generated_gitignores(seed, 400)

    expected = _git_ignored(tmp_path, cases)

    ours = [ignore_matcher(gitignore)(path) for gitignore, path in cases]
    assert [c for c, a, b in zip(cases, ours, expected, strict=True) if a != b] == []


# --- bounded work ------------------------------------------------------------------------------------------

ATTACK = "*a*a*a*a*a*a*a*a*a*a*a*a*b"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("path", ["a" * 10_000, "x/" * 200 + "a" * 10_000, "a" * 9_999 + "b"])
def test_the_backtracking_attack_pattern_is_matched_in_linear_work(path: str) -> None:
    is_ignored = ignore_matcher(ATTACK + "\n")
    is_lfs = lfs_matcher(f"{ATTACK} filter=lfs\n")

    assert is_ignored(path) is path.endswith("b")
    assert is_lfs(path) is path.endswith("b")
    assert is_ignored.budget.spent < 2_000  # one greedy pass per segment, not one per way to split it
    assert is_lfs.budget.spent < 2_000


def test_matching_stops_with_a_clear_error_past_its_budget() -> None:
    many = "".join(f"*[a-z]?x{i}*q*\n" for i in range(1000))
    is_ignored = ignore_matcher(many)
    deep = "/".join(["ab"] * 400)

    def judge_all() -> None:
        for n in range(1000):
            is_ignored(f"d{n}/{deep}")

    with pytest.raises(PatternBudgetExceededError, match="takes too long"):
        judge_all()


@pytest.mark.parametrize(
    ("gitignore", "fragment"),
    [("*.log\n" * (MAX_CLIENT_PATTERNS + 1), "at most"), ("a" * (MAX_CLIENT_PATTERN_BYTES + 1), "bytes")],
    ids=["too-many", "too-long"],
)
def test_client_gitignore_is_bounded(gitignore: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        check_client_gitignore(gitignore)


def test_client_gitignore_within_bounds_is_accepted() -> None:
    check_client_gitignore("# comment\n\n" + "*.log\n" * MAX_CLIENT_PATTERNS)
