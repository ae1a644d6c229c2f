"""Discussions and pull requests through the official client (and git): opening, commenting, editing, hiding,
renaming, closing, merging; commits to ``refs/pr/N`` over HTTP and git; who may do what; bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.community import (
    DiscussionComment,
    DiscussionCommit,
    DiscussionStatusChange,
    DiscussionTitleChange,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.api._support import auth
from tests.compat._gitclient import Credentials, GitClient, make_git_client
from tests.conftest import make_org, make_user


@pytest.fixture
def api(live_server: str, user) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


@pytest.fixture
def repo_id(api: HfApi) -> str:
    repo = api.create_repo("talk").repo_id
    api.upload_file(path_or_fileobj=b"one\ntwo\nthree\n", path_in_repo="notes.txt", repo_id=repo)
    return repo


def bob(live_server: str, other_user) -> HfApi:
    return HfApi(endpoint=live_server, token=other_user.token)


# --- the client's round trip ------------------------------------------------------------------------------


def test_discussions_and_pull_requests_share_one_numbering_and_are_listed(api, live_server, other_user, repo_id):
    first = api.create_discussion(repo_id, title="A question", description="How does it work?")
    pr = bob(live_server, other_user).create_pull_request(repo_id, title="A change")
    third = api.create_discussion(repo_id, title="Another one")

    assert (first.num, pr.num, third.num) == (1, 2, 3)
    assert (first.is_pull_request, pr.is_pull_request) == (False, True)
    assert first.status == "open"
    assert pr.status == "draft"
    assert pr.author == "bob"
    assert pr.target_branch == "refs/heads/main"
    assert pr.git_reference == "refs/pr/2"
    assert pr.conflicting_files == []
    assert pr.merge_commit_oid is None
    assert first.url == f"{live_server}/{repo_id}/discussions/1"
    [comment] = first.events
    assert isinstance(comment, DiscussionComment)
    assert comment.content == "How does it work?"
    assert not comment.edited
    assert not comment.hidden
    assert comment.author == "alice"

    listed = list(api.get_repo_discussions(repo_id))
    assert [d.num for d in listed] == [3, 2, 1]
    assert [d.num for d in api.get_repo_discussions(repo_id, discussion_type="pull_request")] == [2]
    assert [d.num for d in api.get_repo_discussions(repo_id, discussion_type="discussion")] == [3, 1]
    assert [d.num for d in api.get_repo_discussions(repo_id, author="bob")] == [2]
    assert list(api.get_repo_discussions(repo_id, author="nobody")) == []
    assert [d.num for d in api.get_repo_discussions(repo_id, discussion_status="closed")] == []
    assert {d.repo_id for d in listed} == {repo_id}
    assert {d.repo_type for d in listed} == {"model"}
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [r.ref for r in refs.pull_requests] == ["refs/pr/2"]


def test_listing_pages_through_many_discussions(api, repo_id):
    for i in range(55):
        httpx.post(
            f"{api.endpoint}/api/models/{repo_id}/discussions",
            json={"title": f"d{i}", "description": ""},
            headers=auth(api.token),
        ).raise_for_status()

    assert [d.num for d in api.get_repo_discussions(repo_id)] == list(range(55, 0, -1))


def test_comments_are_edited_hidden_and_titles_and_statuses_change(api, live_server, other_user, repo_id):
    discussion = api.create_discussion(repo_id, title="Typo", description="first")
    bobs = bob(live_server, other_user)

    reply = bobs.comment_discussion(repo_id, discussion.num, "I agree")
    edited = bobs.edit_discussion_comment(repo_id, discussion.num, reply.id, "I agree **strongly**")
    renamed = api.rename_discussion(repo_id, discussion.num, "Typo in notes")
    closed = api.change_discussion_status(repo_id, discussion.num, "closed", comment="fixed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the client warns that hiding is irreversible
        hidden = api.hide_discussion_comment(repo_id, discussion.num, reply.id)

    assert isinstance(reply, DiscussionComment)
    assert reply.content == "I agree"
    assert reply.author == "bob"
    assert edited.id == reply.id
    assert edited.content == "I agree **strongly**"
    assert edited.edited
    assert [v["raw"] for v in edited.edit_history] == ["I agree **strongly**", "I agree"]
    assert isinstance(renamed, DiscussionTitleChange)
    assert (renamed.old_title, renamed.new_title) == ("Typo", "Typo in notes")
    assert isinstance(closed, DiscussionStatusChange)
    assert closed.new_status == "closed"
    assert hidden.hidden
    assert hidden.content == ""

    details = api.get_discussion_details(repo_id, discussion.num)
    assert details.title == "Typo in notes"
    assert details.status == "closed"
    assert [e.type for e in details.events] == ["comment", "comment", "title-change", "comment", "status-change"]
    assert details.events[1] == hidden
    assert [d.num for d in api.get_repo_discussions(repo_id, discussion_status="closed")] == [discussion.num]

    with pytest.raises(HfHubHTTPError) as refused:  # bob is neither its author nor a maintainer
        bobs.change_discussion_status(repo_id, discussion.num, "open")
    assert refused.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as refused:  # only its author may edit a comment
        bobs.edit_discussion_comment(repo_id, discussion.num, details.events[0].id, "not mine")
    assert refused.value.response.status_code == 403
    assert api.change_discussion_status(repo_id, discussion.num, "open").new_status == "open"


def test_an_author_may_close_their_own_discussion_but_not_merge(api, live_server, other_user, repo_id):
    bobs = bob(live_server, other_user)
    mine = bobs.create_discussion(repo_id, title="Mine")
    pr = bobs.create_commit(
        repo_id, [CommitOperationAdd("bob.txt", b"bob\n")], commit_message="Add bob.txt", create_pr=True
    )

    assert bobs.change_discussion_status(repo_id, mine.num, "closed").new_status == "closed"
    assert bobs.rename_discussion(repo_id, mine.num, "Still mine").new_title == "Still mine"
    with pytest.raises(HfHubHTTPError) as refused:
        bobs.merge_pull_request(repo_id, pr.pr_num)
    assert refused.value.response.status_code == 403
    assert "bob.txt" not in api.list_repo_files(repo_id)


# --- pull requests with content -------------------------------------------------------------------------


def test_a_pull_request_from_create_commit_is_merged_by_a_maintainer(api, live_server, other_user, repo_id, tmp_path):
    bobs = bob(live_server, other_user)
    info = bobs.create_commit(
        repo_id,
        [CommitOperationAdd("feature.txt", b"feature\n")],
        commit_message="Add a feature",
        commit_description="It does things.",
        create_pr=True,
    )

    assert info.pr_url == f"{live_server}/{repo_id}/discussions/1"
    assert info.pr_revision == "refs/pr/1"
    assert info.pr_num == 1
    assert "feature.txt" not in api.list_repo_files(repo_id)
    assert "feature.txt" in api.list_repo_files(repo_id, revision="refs/pr/1")
    path = hf_hub_download(repo_id, "feature.txt", revision="refs/pr/1", endpoint=live_server, cache_dir=tmp_path)
    assert Path(path).read_bytes() == b"feature\n"
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "feature.txt", endpoint=live_server, cache_dir=tmp_path / "main")

    # more commits to the pull request: by its author, through upload_file and create_commit
    bobs.upload_file(path_or_fileobj=b"more\n", path_in_repo="more.txt", repo_id=repo_id, revision="refs/pr/1")
    api.create_commit(
        repo_id, [CommitOperationAdd("review.txt", b"ok\n")], commit_message="Review", revision="refs/pr/1"
    )
    details = api.get_discussion_details(repo_id, 1)
    assert details.title == "Add a feature"
    assert details.status == "open"
    assert details.author == "bob"
    assert isinstance(details.events[0], DiscussionComment)
    assert details.events[0].content == "It does things."
    commits = [e for e in details.events if isinstance(e, DiscussionCommit)]
    assert [c.summary for c in commits] == ["Add a feature", "Upload more.txt with huggingface_hub", "Review"]
    assert details.diff is not None
    assert "+feature" in details.diff
    assert "feature.txt" in details.diff
    assert api.list_repo_commits(repo_id, revision="refs/pr/1")[0].commit_id == commits[-1].oid

    api.merge_pull_request(repo_id, 1, comment="Thanks!")

    merged = api.get_discussion_details(repo_id, 1)
    assert merged.status == "merged"
    assert merged.merge_commit_oid == api.model_info(repo_id).sha
    assert {"feature.txt", "more.txt", "review.txt"} <= set(api.list_repo_files(repo_id))
    assert isinstance(merged.events[-1], DiscussionStatusChange)
    assert merged.events[-1].new_status == "merged"
    with pytest.raises(HfHubHTTPError):  # a merged pull request takes no more commits
        bobs.upload_file(path_or_fileobj=b"late\n", path_in_repo="late.txt", repo_id=repo_id, revision="refs/pr/1")
    with pytest.raises(HfHubHTTPError):
        api.change_discussion_status(repo_id, 1, "open")


def test_upload_file_and_folder_with_create_pr(api, live_server, repo_id, tmp_path):
    first = api.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=repo_id, create_pr=True)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    (folder / "weights.bin").write_bytes(b"\x00binary" * 100)  # an LFS file
    second = api.upload_folder(folder_path=folder, repo_id=repo_id, create_pr=True)

    assert first.pr_num == 1
    assert second.pr_num == 2
    assert set(api.list_repo_files(repo_id, revision="refs/pr/2")) >= {"a.txt", "weights.bin", "notes.txt"}
    api.merge_pull_request(repo_id, 2)
    assert {"a.txt", "weights.bin"} <= set(api.list_repo_files(repo_id))
    assert api.get_discussion_details(repo_id, 1).status == "open"


def test_a_branch_that_moved_gets_a_merge_commit_and_conflicts_are_refused(api, live_server, other_user, repo_id):
    bobs = bob(live_server, other_user)
    clean = bobs.create_commit(repo_id, [CommitOperationAdd("b.txt", b"b\n")], commit_message="b", create_pr=True)
    clash = bobs.create_commit(
        repo_id, [CommitOperationAdd("notes.txt", b"one\nTWO\nthree\n")], commit_message="edit", create_pr=True
    )
    api.upload_file(path_or_fileobj=b"one\n2\nthree\n", path_in_repo="notes.txt", repo_id=repo_id)
    main_before = api.model_info(repo_id).sha

    assert api.get_discussion_details(repo_id, clash.pr_num).conflicting_files == ["notes.txt"]
    with pytest.raises(HfHubHTTPError) as refused:
        api.merge_pull_request(repo_id, clash.pr_num)
    assert refused.value.response.status_code == 409
    assert "notes.txt" in str(refused.value)
    assert api.model_info(repo_id).sha == main_before
    assert api.get_discussion_details(repo_id, clash.pr_num).status == "open"

    api.merge_pull_request(repo_id, clean.pr_num)

    head = api.list_repo_commits(repo_id)[0]
    assert head.title == f"Merge pull request #{clean.pr_num}: b"
    assert {"b.txt", "notes.txt"} <= set(api.list_repo_files(repo_id))
    assert hf_hub_download(repo_id, "notes.txt", endpoint=live_server, cache_dir=None, token=api.token)


# --- who may do what -------------------------------------------------------------------------------------


@pytest.fixture
def org_repo(hub, api) -> str:
    for name in ("carol", "erin", "dave"):
        make_user(hub, name)
    make_org(hub, "acme", {"alice": "admin", "carol": "read", "erin": "contributor", "dave": "write"})
    repo = api.create_repo("acme/model", private=True).repo_id
    api.upload_file(path_or_fileobj=b"base\n", path_in_repo="base.txt", repo_id=repo)
    return repo


def token_of(hub, name: str) -> str:
    from hubstead.accounts.models import TokenRole
    from hubstead.accounts.services import AccountService

    with hub.sessions.begin() as session:
        accounts = AccountService(session)
        return accounts.create_token(accounts.get_user(name), "t", TokenRole.WRITE)[1]


def test_org_roles_on_pull_requests(hub, live_server, api, org_repo):
    carol, erin, dave = (HfApi(endpoint=live_server, token=token_of(hub, n)) for n in ("carol", "erin", "dave"))

    by_reader = carol.create_commit(org_repo, [CommitOperationAdd("c.txt", b"c\n")], commit_message="c", create_pr=True)
    by_contributor = erin.create_commit(
        org_repo, [CommitOperationAdd("e.txt", b"e\n")], commit_message="e", create_pr=True
    )
    erin.create_commit(org_repo, [CommitOperationAdd("e2.txt", b"e\n")], commit_message="e2", revision="refs/pr/2")

    assert (by_reader.pr_num, by_contributor.pr_num) == (1, 2)
    with pytest.raises(HfHubHTTPError) as refused:  # not erin's pull request
        erin.create_commit(org_repo, [CommitOperationAdd("x.txt", b"x\n")], commit_message="x", revision="refs/pr/1")
    assert refused.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as refused:  # the default branch needs the write role
        erin.create_commit(org_repo, [CommitOperationAdd("x.txt", b"x\n")], commit_message="x")
    assert refused.value.response.status_code == 403
    for member in (carol, erin):
        with pytest.raises(HfHubHTTPError) as refused:
            member.merge_pull_request(org_repo, 2)
        assert refused.value.response.status_code == 403
        with pytest.raises(HfHubHTTPError) as refused:
            member.change_discussion_status(org_repo, 1 if member is erin else 2, "closed")
        assert refused.value.response.status_code == 403
    # a maintainer pushes to anyone's pull request, and merges
    dave.create_commit(org_repo, [CommitOperationAdd("d.txt", b"d\n")], commit_message="d", revision="refs/pr/2")
    dave.merge_pull_request(org_repo, 2)
    assert {"e.txt", "e2.txt", "d.txt"} <= set(api.list_repo_files(org_repo))
    assert "c.txt" not in api.list_repo_files(org_repo)


def test_private_repo_discussions_are_invisible_to_outsiders(api, live_server, other_user, org_repo):
    api.create_discussion(org_repo, title="internal")
    outsiders = [bob(live_server, other_user), HfApi(endpoint=live_server, token=False)]

    for outsider in outsiders:
        with pytest.raises(RepositoryNotFoundError):
            list(outsider.get_repo_discussions(org_repo))
        with pytest.raises(RepositoryNotFoundError):
            outsider.get_discussion_details(org_repo, 1)
        with pytest.raises(RepositoryNotFoundError):
            outsider.comment_discussion(org_repo, 1, "hello?")
        with pytest.raises(RepositoryNotFoundError):
            outsider.create_commit(org_repo, [CommitOperationAdd("x", b"x")], commit_message="x", create_pr=True)


def test_anonymous_callers_and_read_tokens_read_but_do_not_write(api, live_server, user, repo_id):
    api.create_discussion(repo_id, title="public")
    anonymous = HfApi(endpoint=live_server, token=False)
    read_only = HfApi(endpoint=live_server, token=user.read_token)

    assert [d.title for d in anonymous.get_repo_discussions(repo_id)] == ["public"]
    assert anonymous.get_discussion_details(repo_id, 1).title == "public"
    for caller, status in ((anonymous, 401), (read_only, 403)):
        with pytest.raises(HfHubHTTPError) as refused:
            caller.comment_discussion(repo_id, 1, "hi")
        assert refused.value.response.status_code == status
        with pytest.raises(HfHubHTTPError) as refused:
            caller.create_discussion(repo_id, title="new")
        assert refused.value.response.status_code == status


# --- git pushes -----------------------------------------------------------------------------------------


@pytest.fixture
def git(tmp_path: Path) -> GitClient:
    return make_git_client(tmp_path)


def test_a_contributor_pushes_branches_and_their_own_pull_request_with_git(hub, live_server, api, org_repo, git):
    erin_token = token_of(hub, "erin")
    erin = HfApi(endpoint=live_server, token=erin_token)
    theirs = api.create_pull_request(org_repo, title="alice's")  # 1
    mine = erin.create_pull_request(org_repo, title="erin's")  # 2
    creds = Credentials("erin", erin_token)
    clone = git.cwd / "clone"
    git.run("clone", f"{live_server}/{org_repo}", str(clone), auth=creds)
    (clone / "git.txt").write_text("from git\n")
    git.run("add", "git.txt", cwd=clone)
    git.run("commit", "-m", "Add git.txt", cwd=clone)

    to_pr = git.run("push", "origin", f"HEAD:{mine.git_reference}", cwd=clone, auth=creds, check=False)
    to_branch = git.run("push", "origin", "HEAD:refs/heads/erin-branch", cwd=clone, auth=creds, check=False)
    to_main = git.run("push", "origin", "HEAD:refs/heads/main", cwd=clone, auth=creds, check=False)
    to_other = git.run("push", "origin", f"HEAD:{theirs.git_reference}", cwd=clone, auth=creds, check=False)
    tag = git.run("push", "origin", "HEAD:refs/tags/v9", cwd=clone, auth=creds, check=False)

    assert to_pr.returncode == 0, to_pr.stderr
    assert to_branch.returncode == 0, to_branch.stderr
    assert to_main.returncode != 0
    assert "contributors may push" in to_main.stderr
    assert to_other.returncode != 0
    assert "only its author" in to_other.stderr
    assert tag.returncode != 0
    details = api.get_discussion_details(org_repo, mine.num)
    assert details.status == "open"
    assert [e.summary for e in details.events if isinstance(e, DiscussionCommit)] == ["Add git.txt"]
    assert "git.txt" in api.list_repo_files(org_repo, revision=mine.git_reference)
    assert "git.txt" in api.list_repo_files(org_repo, revision="erin-branch")
    assert "git.txt" not in api.list_repo_files(org_repo)
    assert "git.txt" not in api.list_repo_files(org_repo, revision=theirs.git_reference)


def test_a_reader_cannot_push_with_git(hub, live_server, org_repo):
    response = httpx.get(
        f"{live_server}/acme/model.git/info/refs?service=git-receive-pack", headers=auth(token_of(hub, "carol"))
    )
    assert response.status_code == 403


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/discussions", {"title": "   "}, 400),
        ("POST", "/discussions", {"title": "x" * 201}, 400),
        ("POST", "/discussions", {"title": 5}, 400),
        ("POST", "/discussions/1/comment", {"comment": "x" * 70_000}, 400),
        ("POST", "/discussions/1/comment", {"comment": ""}, 400),
        ("POST", "/discussions/1/comment", {}, 400),
        ("POST", "/discussions/99/comment", {"comment": "hi"}, 404),
        ("GET", "/discussions/99", None, 404),
        ("GET", "/discussions/abc", None, 400),
        ("GET", "/discussions/0", None, 400),
        ("GET", "/discussions?p=x", None, 400),
        ("GET", "/discussions?status=weird", None, 400),
        ("POST", "/discussions/1/status", {"status": "merged"}, 400),
        ("POST", "/discussions/1/status", {"status": "open"}, 400),  # already open
        ("POST", "/discussions/1/merge", None, 400),  # not a pull request
        ("POST", "/discussions/1/title", {"title": ""}, 400),
        ("POST", "/discussions/1/comment/zz/edit", {"content": "x"}, 404),
        ("POST", "/discussions/1/comment/ffffff/hide", None, 404),
        ("POST", "/discussions", [1, 2], 422),
    ],
)
def test_bad_input_gets_a_4xx_in_our_error_shape(api, repo_id, method, path, body, status):
    api.create_discussion(repo_id, title="exists")
    response = httpx.request(
        method, f"{api.endpoint}/api/models/{repo_id}{path}", json=body, headers=auth(api.token), timeout=30
    )

    assert response.status_code == status, response.text
    assert response.headers["x-error-message"]
    assert response.json()["error"]
    assert "x-request-id" in response.headers


def test_commits_to_a_missing_pull_request_are_refused(api, repo_id):
    with pytest.raises(RevisionNotFoundError):
        api.create_commit(repo_id, [CommitOperationAdd("x", b"x")], commit_message="x", revision="refs/pr/7")
    with pytest.raises(HfHubHTTPError) as refused:  # a pull request targets a branch
        api.create_commit(repo_id, [CommitOperationAdd("x", b"x")], commit_message="x", revision="v1", create_pr=True)
    assert refused.value.response.status_code == 404
