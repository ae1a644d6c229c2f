"""What huggingface_hub's own suite found missing (issue 19's first list), through the official client."""

from __future__ import annotations

import threading

import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError


@pytest.fixture
def api(live_server: str, user) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


@pytest.fixture
def repo_id(api: HfApi) -> str:
    return api.create_repo("parity").repo_id


def test_the_same_lfs_object_uploaded_at_once_by_several_clients_lands_for_all(api: HfApi, repo_id: str) -> None:
    content = b"\x00same weights" * 4096
    errors: list[BaseException] = []

    def upload(i: int) -> None:
        try:
            api.upload_file(path_or_fileobj=content, path_in_repo=f"w{i}.bin", repo_id=repo_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {f"w{i}.bin" for i in range(6)} <= set(api.list_repo_files(repo_id))


def test_a_tag_on_a_missing_revision_is_revision_not_found(api: HfApi, repo_id: str) -> None:
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo_id, tag="v1", revision="no-such-branch")


def test_tree_lists_folders_before_files(api: HfApi, repo_id: str) -> None:
    api.create_commit(
        repo_id,
        [CommitOperationAdd("a.txt", b"a"), CommitOperationAdd("z/b.txt", b"b"), CommitOperationAdd("m/c.txt", b"c")],
        commit_message="files",
    )
    paths = [e.path for e in api.list_repo_tree(repo_id)]
    assert paths == ["m", "z", ".gitattributes", "a.txt"]


def test_formatted_commits_have_formatted_title_and_message(api: HfApi, repo_id: str) -> None:
    api.create_commit(
        repo_id, [CommitOperationAdd("a.txt", b"a")], commit_message="Add <b>a</b>", commit_description="why"
    )
    api.create_commit(repo_id, [CommitOperationAdd("b.txt", b"b")], commit_message="Fix #3 & more")
    fix, add = api.list_repo_commits(repo_id, formatted=True)[:2]
    assert add.formatted_title == "Add &lt;b&gt;a&lt;/b&gt;"
    assert add.formatted_message == "why"
    assert fix.formatted_title == f'Fix <a href="{api.endpoint}/alice/parity/discussions/3">#3</a> &amp; more'
    assert api.list_repo_commits(repo_id)[0].formatted_title is None


def test_auth_check_answers_as_a_download_or_a_commit_would(api: HfApi, repo_id: str, other_user) -> None:
    api.update_repo_settings(repo_id, gated="manual")
    api.auth_check(repo_id)
    api.auth_check(repo_id, write=True)
    outsider = HfApi(endpoint=api.endpoint, token=other_user.token)
    with pytest.raises(GatedRepoError):
        outsider.auth_check(repo_id)
    with pytest.raises(HfHubHTTPError) as refused:
        outsider.auth_check(repo_id, write=True)
    assert refused.value.response.status_code == 403
    api.update_repo_settings(repo_id, private=True)
    with pytest.raises(RepositoryNotFoundError):
        outsider.auth_check(repo_id)


def test_a_new_space_has_a_card_naming_its_sdk(api: HfApi) -> None:
    api.create_repo("demo", repo_type="space", space_sdk="gradio")

    card = api.space_info("alice/demo").card_data
    assert card is not None
    assert (card.sdk, card.title) == ("gradio", "demo")
    assert card.colorFrom
    assert card.emoji


def test_a_backslash_in_a_path_is_an_ordinary_character(api: HfApi, repo_id: str) -> None:
    api.create_commit(repo_id, [CommitOperationAdd("dir\\name.txt", b"x")], commit_message="backslash")
    assert "dir\\name.txt" in api.list_repo_files(repo_id)
    for refused in ("x\\.git\\config", "..\\up.txt", "a\\.GIT\\hooks"):
        with pytest.raises(HfHubHTTPError):
            api.create_commit(repo_id, [CommitOperationAdd(refused, b"x")], commit_message="refused")


def test_validate_yaml_reads_front_matter_after_blank_lines_and_knows_the_licenses(live_server: str) -> None:
    from huggingface_hub import ModelCard

    ModelCard("\n\n---\nlicense: mit\ntags:\n- a\n---\n# card\n").validate()
    with pytest.raises(ValueError, match=r'"license" must be one of \[.*apache-2.0.*\]'):
        ModelCard("---\nlicense: asdf\n---\n# card\n").validate()
    with pytest.raises(ValueError, match="license"):
        ModelCard("\n---\nlicense: [mit, not-a-license]\n---\n").validate()


def test_card_metadata_after_a_blank_first_line_is_indexed(api: HfApi, repo_id: str) -> None:
    api.upload_file(
        path_or_fileobj=b"\n---\nlicense: mit\ntags:\n- blank-first\n---\n# x\n",
        path_in_repo="README.md",
        repo_id=repo_id,
    )

    assert [m.id for m in api.list_models(filter="blank-first")] == [repo_id]


def test_super_squash_leaves_one_commit_with_the_same_files(api: HfApi, repo_id: str) -> None:
    for i in range(3):
        api.create_commit(repo_id, [CommitOperationAdd(f"f{i}.txt", str(i).encode())], commit_message=f"c{i}")
    api.create_tag(repo_id, tag="before")
    files = api.list_repo_files(repo_id)

    api.super_squash_history(repo_id, commit_message="all in one")

    commits = api.list_repo_commits(repo_id)
    assert [c.title for c in commits] == ["all in one"]
    assert api.list_repo_files(repo_id) == files
    assert api.model_info(repo_id).sha == commits[0].commit_id
    assert len(api.list_repo_commits(repo_id, revision="before")) == 4  # a tag keeps the old history
    with pytest.raises(RevisionNotFoundError):
        api.super_squash_history(repo_id, branch="nope")
    with pytest.raises(HfHubHTTPError) as tag:
        api.super_squash_history(repo_id, branch="before")
    assert tag.value.response.status_code == 400
