"""Repo names, repo ids and paths inside repos."""

from __future__ import annotations

import pytest

from hubstead.errors import InvalidPathError, InvalidRepoNameError
from hubstead.repos.models import RepoType
from hubstead.repos.naming import RepoRef, parse_repo_id, validate_path_in_repo, validate_repo_name


@pytest.mark.parametrize(
    "name",
    ["gpt2", "a", "7", "bert-base-uncased", "Llama-2-7b.Q4_K_M", "distilbert_imdb", "a.b.c", "x" * 96],
)
def test_valid_repo_names_are_accepted(name: str) -> None:
    assert validate_repo_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 97,
        "-leading-dash",
        ".leading-dot",
        "_leading-underscore",
        "trailing-dash-",
        "trailing-dot.",
        "double--dash",
        "double..dot",
        "model.git",
        "model.GIT",
        "with space",
        "with/slash",
        "tab\tname",
        "gpt2\n",
        "ünicode",
        "emoji-🤗",
    ],
)
def test_invalid_repo_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRepoNameError):
        validate_repo_name(name)


def test_invalid_repo_name_error_says_what_is_allowed() -> None:
    with pytest.raises(InvalidRepoNameError) as excinfo:
        validate_repo_name("bad name")

    assert "'bad name'" in excinfo.value.message
    assert "96 characters" in excinfo.value.message


def test_repo_id_splits_into_namespace_and_name() -> None:
    assert parse_repo_id("openai-community/gpt2") == ("openai-community", "gpt2")


@pytest.mark.parametrize(
    "repo_id",
    ["gpt2", "a/b/c", "/gpt2", "alice/", "alice//gpt2", "bad name/gpt2", "alice/bad--name", "alice/gpt2\n"],
)
def test_malformed_repo_ids_are_refused(repo_id: str) -> None:
    with pytest.raises(InvalidRepoNameError):
        parse_repo_id(repo_id)


@pytest.mark.parametrize(
    ("repo_type", "storage_key"),
    [
        (RepoType.MODEL, "models/alice/gpt2"),
        (RepoType.DATASET, "datasets/alice/gpt2"),
        (RepoType.SPACE, "spaces/alice/gpt2"),
    ],
)
def test_repo_ref_storage_key_separates_repo_types(repo_type: RepoType, storage_key: str) -> None:
    ref = RepoRef(repo_type, "alice", "gpt2")

    assert ref.repo_id == "alice/gpt2"
    assert ref.storage_key == storage_key


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        ".gitattributes",
        ".gitignore",
        ".github/workflows/ci.yml",
        "data/train-00000-of-00001.parquet",
        "folder with spaces/file name.txt",
        "ünïcödé/数据.csv",
        "a.git/inside-a-folder-named-like-a-repo",
        "...three-dots",
        "x" * 1024,
    ],
)
def test_valid_paths_in_repo_are_accepted(path: str) -> None:
    assert validate_path_in_repo(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "x" * 1025,
        "/etc/passwd",
        "../outside",
        "a/../../outside",
        "a/./b",
        "./a",
        "a//b",
        "trailing/",
        ".",
        "..",
        "..\\windows\\traversal",
        "x\\.git\\config",
        "a\\.GIT\\hooks\\x",
        "a\\git~1\\config",
        "a\\.gitmodules\\x",
        "nul\x00byte",
        "new\nline",
        "tab\tin-name",
        ".git",
        ".git/config",
        "sub/.git/hooks/pre-commit",
    ],
)
def test_invalid_paths_in_repo_are_refused(path: str) -> None:
    with pytest.raises(InvalidPathError):
        validate_path_in_repo(path)


@pytest.mark.parametrize("path", ["windows\\path", "a\\b\\c.txt", "dir/back\\slash.bin", "a\\.gitattributes"])
def test_a_backslash_is_an_ordinary_character_in_a_path(path: str) -> None:
    assert validate_path_in_repo(path) == path
