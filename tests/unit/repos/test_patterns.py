"""``.gitattributes`` and ``.gitignore`` matching. Every expectation here was checked against git itself
(``git check-attr filter`` and ``git check-ignore --no-index``)."""

from __future__ import annotations

import pytest

from hubstead.repos.patterns import ignore_matcher, lfs_attribute_line, lfs_matcher

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
