"""The order of a tree walk (folders first, as huggingface.co lists them) and resuming it at a page cursor
(``iter_tree(start_at=...)``): from any entry, the rest of the walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubstead.errors import InvalidInputError
from hubstead.gitstore import Change, GitRepo, GitStore

FILES = ["README.md", "a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "a/z.txt", "b.txt", "data/x/y.json", "z/last.bin"]


@pytest.fixture
def tree(tmp_path: Path) -> tuple[GitRepo, str]:
    repo = GitStore(tmp_path / "repos").init("models/alice/tree")
    tree_oid = repo.build_tree(None, [Change(path, repo.write_blob(path.encode())) for path in FILES])
    return repo, repo.write_commit(tree_oid, [], "files", "Alice", "alice@example.org")


def test_folders_come_before_files_at_every_level(tree: tuple[GitRepo, str]) -> None:
    repo, sha = tree

    assert [e.path for e in repo.iter_tree(sha, "", recursive=True)] == [
        "a", "a/b", "a/b/c", "a/b/c/3.txt", "a/b/2.txt", "a/1.txt", "a/z.txt",
        "data", "data/x", "data/x/y.json", "z", "z/last.bin", "README.md", "b.txt",
    ]  # fmt: skip
    assert [e.path for e in repo.iter_tree(sha, "a")] == ["a/b", "a/1.txt", "a/z.txt"]


@pytest.mark.parametrize("recursive", [True, False])
@pytest.mark.parametrize("folder", ["", "a"])
def test_resuming_at_each_entry_gives_the_rest_of_the_walk(
    tree: tuple[GitRepo, str], recursive: bool, folder: str
) -> None:
    repo, sha = tree
    walk = list(repo.iter_tree(sha, folder, recursive))

    for index, entry in enumerate(walk):
        assert list(repo.iter_tree(sha, folder, recursive, start_at=entry.walk_key)) == walk[index:]


def test_resumed_entries_carry_their_sizes(tree: tuple[GitRepo, str]) -> None:
    repo, sha = tree

    entries = list(repo.iter_tree(sha, "", recursive=True, start_at="0a/0b/0c/13.txt"))

    assert (entries[0].path, entries[0].type, entries[0].size) == ("a/b/c/3.txt", "file", len(b"a/b/c/3.txt"))


@pytest.mark.parametrize(
    ("cursor", "first"),
    [("0a/0b/13.txt", "a/1.txt"), ("0a/0b/0c/19.txt", "a/b/2.txt"), ("0a/1zz", "data"), ("1zz", None)],
)
def test_a_cursor_whose_entry_is_gone_resumes_where_it_was(
    tree: tuple[GitRepo, str], cursor: str, first: str | None
) -> None:
    repo, sha = tree

    rest = [e.path for e in repo.iter_tree(sha, "", recursive=True, start_at=cursor)]

    assert rest[:1] == ([first] if first else [])


@pytest.mark.parametrize(
    ("folder", "cursor"), [("", "a/b"), ("", "1a/0b"), ("", "0a/"), ("a", "0z/1last.bin"), ("a", "0a")]
)
def test_a_cursor_that_is_no_walk_key_of_the_folder_is_refused(
    tree: tuple[GitRepo, str], folder: str, cursor: str
) -> None:
    repo, sha = tree

    with pytest.raises(InvalidInputError):
        list(repo.iter_tree(sha, folder, recursive=True, start_at=cursor))
