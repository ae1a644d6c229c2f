"""GitStore and GitRepo on real bare repositories in a temporary folder."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from hubstead.errors import (
    ConcurrentUpdateError,
    EntryNotFoundError,
    InvalidPathError,
    RefAlreadyExistsError,
    RevisionNotFoundError,
)
from hubstead.gitstore import Change, GitRepo, GitStore

KEY = "models/alice/gpt2"
MAIN = "refs/heads/main"


@pytest.fixture
def store(tmp_path: Path) -> GitStore:
    return GitStore(tmp_path / "repos")


@pytest.fixture
def repo(store: GitStore) -> GitRepo:
    return store.init(KEY)


def commit(repo: GitRepo, parent: str | None, files: dict[str, bytes | None], message: str = "update") -> str:
    """Write a commit changing ``files`` (None deletes) on top of ``parent``; no ref moves."""
    changes = [Change(path, None if data is None else repo.write_blob(data)) for path, data in files.items()]
    tree = repo.build_tree(parent, changes)
    return repo.write_commit(tree, [parent] if parent else [], message, "Alice", "alice@example.org")


def files_at(repo: GitRepo, sha: str) -> dict[str, bytes]:
    return {e.path: repo.read_blob(e.oid) for e in repo.iter_tree(sha, recursive=True) if e.type == "file"}


@pytest.fixture
def history(repo: GitRepo) -> list[str]:
    """Three commits on main, oldest first."""
    first = commit(repo, None, {"README.md": b"# v1\n", "config.json": b"{}"}, "Initial commit")
    second = commit(repo, first, {"README.md": b"# v2\n"}, "Update README\n\nWith a longer description.")
    third = commit(repo, second, {"weights/model.bin": b"\x00" * 10}, "Add weights")
    repo.update_ref(MAIN, third, None)
    return [first, second, third]


# --- the store ----------------------------------------------------------------------------------


def test_init_creates_a_bare_repository_with_main_as_head(store: GitStore) -> None:
    store.init(KEY)

    assert store.exists(KEY)
    assert store.path_for(KEY) == store.root / f"{KEY}.git"
    assert (store.path_for(KEY) / "HEAD").read_text().strip() == "ref: refs/heads/main"


def test_init_honours_another_default_branch(store: GitStore) -> None:
    store.init(KEY, default_branch="trunk")

    assert (store.path_for(KEY) / "HEAD").read_text().strip() == "ref: refs/heads/trunk"


def test_unknown_repository_does_not_exist(store: GitStore) -> None:
    assert not store.exists("models/alice/missing")


def test_delete_removes_the_repository(store: GitStore) -> None:
    store.init(KEY)
    store.delete(KEY)

    assert not store.exists(KEY)


def test_move_keeps_history(store: GitStore, repo: GitRepo, history: list[str]) -> None:
    store.move(KEY, "models/bob/gpt2")

    assert not store.exists(KEY)
    assert store.open("models/bob/gpt2").resolve("main") == history[-1]


def test_move_onto_an_existing_repository_fails(store: GitStore) -> None:
    store.init(KEY)
    store.init("models/bob/gpt2")

    with pytest.raises(FileExistsError):
        store.move(KEY, "models/bob/gpt2")


# --- building trees -----------------------------------------------------------------------------


def test_build_tree_adds_nested_files(repo: GitRepo) -> None:
    sha = commit(repo, None, {"a.txt": b"a", "deep/er/b.txt": b"b"})

    assert files_at(repo, sha) == {"a.txt": b"a", "deep/er/b.txt": b"b"}


def test_build_tree_replaces_an_existing_file(repo: GitRepo) -> None:
    first = commit(repo, None, {"a.txt": b"old"})
    second = commit(repo, first, {"a.txt": b"new"})

    assert files_at(repo, second) == {"a.txt": b"new"}
    assert files_at(repo, first) == {"a.txt": b"old"}


def test_build_tree_deletes_a_file(repo: GitRepo) -> None:
    first = commit(repo, None, {"a.txt": b"a", "b.txt": b"b"})
    second = commit(repo, first, {"a.txt": None})

    assert files_at(repo, second) == {"b.txt": b"b"}


@pytest.mark.parametrize("folder", ["data", "data/"])
def test_build_tree_deletes_a_folder_recursively(repo: GitRepo, folder: str) -> None:
    first = commit(repo, None, {"data/a.csv": b"1", "data/sub/b.csv": b"2", "keep.txt": b"k"})
    tree = repo.build_tree(first, [Change(folder, None, folder=True)])

    assert [e.path for e in repo.iter_tree(tree, recursive=True)] == ["keep.txt"]


@pytest.mark.parametrize("change", [Change("missing.txt"), Change("missing", folder=True)])
def test_deleting_what_does_not_exist_raises(repo: GitRepo, change: Change) -> None:
    first = commit(repo, None, {"a.txt": b"a"})

    with pytest.raises(EntryNotFoundError):
        repo.build_tree(first, [change])


def test_adding_a_file_under_a_file_raises(repo: GitRepo) -> None:
    first = commit(repo, None, {"model": b"a file"})

    with pytest.raises(InvalidPathError):
        repo.build_tree(first, [Change("model/weights.bin", repo.write_blob(b"w"))])


def test_adding_a_file_where_a_folder_is_raises(repo: GitRepo) -> None:
    first = commit(repo, None, {"model/weights.bin": b"w"})

    with pytest.raises(InvalidPathError):
        repo.build_tree(first, [Change("model", repo.write_blob(b"a file"))])


def test_conflicting_file_and_folder_in_one_change_set_raises(repo: GitRepo) -> None:
    blob = repo.write_blob(b"x")

    with pytest.raises(InvalidPathError):
        repo.build_tree(None, [Change("a", blob), Change("a/b", blob)])


def test_replacing_a_folder_by_a_file_works_after_deleting_it(repo: GitRepo) -> None:
    first = commit(repo, None, {"model/weights.bin": b"w"})
    tree = repo.build_tree(first, [Change("model", folder=True), Change("model", repo.write_blob(b"now a file"))])

    assert [(e.path, e.type) for e in repo.iter_tree(tree, recursive=True)] == [("model", "file")]


# --- resolving revisions --------------------------------------------------------------------------


def test_resolve_branch(repo: GitRepo, history: list[str]) -> None:
    assert repo.resolve("main") == history[-1]


def test_resolve_full_ref_names(repo: GitRepo, history: list[str]) -> None:
    repo.update_ref("refs/pr/1", history[0], None)

    assert repo.resolve("refs/heads/main") == history[-1]
    assert repo.resolve("refs/pr/1") == history[0]


def test_resolve_lightweight_tag(repo: GitRepo, history: list[str]) -> None:
    repo.update_ref("refs/tags/v1.0", history[1], None)

    assert repo.resolve("v1.0") == history[1]
    assert repo.resolve("refs/tags/v1.0") == history[1]


def test_annotated_tag_peels_to_its_commit(repo: GitRepo, history: list[str]) -> None:
    tag_oid = repo.create_annotated_tag("v2.0", history[0], "Release 2.0", "Alice", "alice@example.org")

    assert tag_oid != history[0]
    assert repo.resolve("v2.0") == history[0]
    assert repo.resolve(tag_oid) == history[0]
    assert repo.list_refs().tags == {"v2.0": history[0]}


@pytest.mark.parametrize("length", [40, 12, 7])
def test_resolve_full_and_short_sha(repo: GitRepo, history: list[str], length: int) -> None:
    assert repo.resolve(history[1][:length]) == history[1]


@pytest.mark.parametrize("revision", ["missing-branch", "0" * 40, "deadbeef", "main~1", "HEAD^", "refs/heads/nope", ""])
def test_unknown_revisions_raise(repo: GitRepo, history: list[str], revision: str) -> None:
    with pytest.raises(RevisionNotFoundError):
        repo.resolve(revision)


def test_a_blob_sha_is_not_a_revision(repo: GitRepo, history: list[str]) -> None:
    blob = next(e.oid for e in repo.iter_tree(history[0]) if e.path == "README.md")

    with pytest.raises(RevisionNotFoundError):
        repo.resolve(blob)


def test_list_refs_sorts_refs_by_kind(repo: GitRepo, history: list[str]) -> None:
    repo.update_ref("refs/heads/dev", history[0], None)
    repo.update_ref("refs/tags/v1", history[1], None)
    repo.update_ref("refs/pr/3", history[1], None)
    repo.update_ref("refs/convert/parquet", history[2], None)

    refs = repo.list_refs()

    assert refs.branches == {"main": history[2], "dev": history[0]}
    assert refs.tags == {"v1": history[1]}
    assert refs.pulls == {"3": history[1]}
    assert refs.converts == {"parquet": history[2]}


# --- moving refs --------------------------------------------------------------------------------


def test_update_ref_moves_a_branch_from_its_current_tip(repo: GitRepo, history: list[str]) -> None:
    fourth = commit(repo, history[-1], {"new.txt": b"n"})
    repo.update_ref(MAIN, fourth, history[-1])

    assert repo.ref_target(MAIN) == fourth


def test_update_ref_with_a_stale_old_sha_fails_and_changes_nothing(repo: GitRepo, history: list[str]) -> None:
    fourth = commit(repo, history[-1], {"new.txt": b"n"})

    with pytest.raises(ConcurrentUpdateError):
        repo.update_ref(MAIN, fourth, history[0])
    assert repo.ref_target(MAIN) == history[-1]


def test_creating_an_existing_ref_fails(repo: GitRepo, history: list[str]) -> None:
    with pytest.raises(RefAlreadyExistsError):
        repo.update_ref(MAIN, history[0], None)
    assert repo.ref_target(MAIN) == history[-1]


@pytest.mark.parametrize("ref", ["refs/heads/bad..name", "refs/heads/with space", "refs/heads/trailing.lock"])
def test_update_ref_refuses_invalid_ref_names(repo: GitRepo, history: list[str], ref: str) -> None:
    with pytest.raises(InvalidPathError):
        repo.update_ref(ref, history[0], None)


def test_delete_ref_removes_it(repo: GitRepo, history: list[str]) -> None:
    repo.update_ref("refs/heads/dev", history[0], None)
    repo.delete_ref("refs/heads/dev", history[0])

    assert repo.ref_target("refs/heads/dev") is None


def test_delete_ref_with_a_stale_old_sha_fails(repo: GitRepo, history: list[str]) -> None:
    repo.update_ref("refs/heads/dev", history[0], None)

    with pytest.raises(ConcurrentUpdateError):
        repo.delete_ref("refs/heads/dev", history[1])
    assert repo.ref_target("refs/heads/dev") == history[0]


# --- history ------------------------------------------------------------------------------------


def test_log_lists_commits_newest_first(repo: GitRepo, history: list[str]) -> None:
    assert [c.sha for c in repo.log(history[-1])] == history[::-1]


def test_log_skip_and_limit_page_through_history(repo: GitRepo, history: list[str]) -> None:
    assert [c.sha for c in repo.log(history[-1], skip=1, limit=1)] == [history[1]]
    assert [c.sha for c in repo.log(history[-1], skip=2, limit=10)] == [history[0]]
    assert repo.log(history[-1], skip=3) == []


def test_commit_meta_splits_title_and_message(repo: GitRepo, history: list[str]) -> None:
    meta = repo.commit_meta(history[1])

    assert (meta.title, meta.message) == ("Update README", "With a longer description.")
    assert (meta.author_name, meta.author_email) == ("Alice", "alice@example.org")
    assert meta.parents == (history[0],)
    assert meta.date.tzinfo == UTC


@pytest.mark.parametrize(("index", "count"), [(0, 1), (1, 2), (2, 3)])
def test_count_commits_counts_ancestors(repo: GitRepo, history: list[str], index: int, count: int) -> None:
    assert repo.count_commits(history[index]) == count


def test_last_commits_finds_the_newest_commit_touching_each_path(repo: GitRepo, history: list[str]) -> None:
    found = repo.last_commits(history[-1], ["README.md", "config.json", "weights", "missing.txt"])

    assert {path: meta.sha for path, meta in found.items()} == {
        "README.md": history[1],
        "config.json": history[0],
        "weights": history[2],
    }


# --- reading trees ------------------------------------------------------------------------------


def test_iter_tree_lists_the_top_level(repo: GitRepo, history: list[str]) -> None:
    entries = {e.path: e.type for e in repo.iter_tree(history[-1])}

    assert entries == {"README.md": "file", "config.json": "file", "weights": "directory"}


def test_recursive_iter_tree_includes_each_folder_before_its_contents(repo: GitRepo) -> None:
    sha = commit(repo, None, {"a/b/c.txt": b"c", "a/d.txt": b"dd", "e.txt": b"eee"})

    entries = [(e.path, e.type) for e in repo.iter_tree(sha, recursive=True)]

    assert entries == [
        ("a", "directory"),
        ("a/b", "directory"),
        ("a/b/c.txt", "file"),
        ("a/d.txt", "file"),
        ("e.txt", "file"),
    ]


def test_iter_tree_of_a_subfolder_gives_full_paths_and_sizes(repo: GitRepo, history: list[str]) -> None:
    entries = list(repo.iter_tree(history[-1], "weights"))

    assert [(e.path, e.type, e.size) for e in entries] == [("weights/model.bin", "file", 10)]


@pytest.mark.parametrize("path", ["README.md", "missing"])
def test_iter_tree_of_a_file_or_missing_path_raises(repo: GitRepo, history: list[str], path: str) -> None:
    with pytest.raises(EntryNotFoundError):
        list(repo.iter_tree(history[-1], path))


def test_get_entry_describes_files_and_folders(repo: GitRepo, history: list[str]) -> None:
    file = repo.get_entry(history[-1], "weights/model.bin")
    folder = repo.get_entry(history[-1], "weights")

    assert file is not None
    assert (file.type, file.size) == ("file", 10)
    assert repo.read_blob(file.oid) == b"\x00" * 10
    assert folder is not None
    assert folder.type == "directory"
    assert repo.get_entry(history[-1], "nope.txt") is None


def test_has_object_knows_written_blobs(repo: GitRepo) -> None:
    oid = repo.write_blob(b"hello")

    assert repo.has_object(oid)
    assert not repo.has_object("1" * 40)
