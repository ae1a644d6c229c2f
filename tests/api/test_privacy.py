"""A private repo looks exactly like a missing one to anyone who may not read it, on every endpoint that
takes a repo; writes need write access; org roles decide what members may do with private org repos.

The table of calls is checked against ``app.routes``: a new route fails ``test_every_route_is_classified``
until it is added here (or listed, with a reason, as not addressing a repo)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api._support import (
    API_TYPES,
    LFS_CONTENT,
    LFS_OID,
    URL_PREFIX,
    auth,
    file_line,
    header_line,
    ndjson,
    seed_repo,
    snapshot,
)
from tests.conftest import make_org, make_user

NEW_OID = hashlib.sha256(b"a new object").hexdigest()


@dataclass(frozen=True)
class Call:
    """One request against a repo. ``url`` and string bodies are templates over ``api`` (``/api/models/ns/name``),
    ``web`` (``/ns/name`` or ``/datasets/ns/name``), ``repo``, ``ns``, ``name`` and ``type``."""

    id: str
    route: str  # the endpoint's name in app.routes
    method: str
    url: str
    json: Any = None
    data: dict[str, str] | None = None
    content: bytes | None = None  # a raw body, sent with the content-type in extra_headers
    repo_type: str = "model"
    write: bool = False
    changes: bool = True  # a successful write changes what snapshot() sees
    extra_headers: dict[str, str] = field(default_factory=dict)
    gated: bool = False  # the repo is gated (manual) and its owner has asked for access, before the call
    # the owner has opened pull request #1 (adding pr.txt, its description a first comment: {comment})
    discussion: bool = False
    author_only: bool = False  # only the author of what it changes may call it: neither a read nor a write


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def send(
    client: httpx.Client, call: Call, repo_id: str, token: str | None, seeded: dict[str, str] | None = None
) -> httpx.Response:
    ns, name = repo_id.split("/")
    names = (seeded or {}) | {
        "api": f"/api/{API_TYPES[call.repo_type]}/{repo_id}",
        "web": f"/{URL_PREFIX[call.repo_type]}{repo_id}",
        "repo": repo_id,
        "ns": ns,
        "name": name,
        "type": call.repo_type,
    }
    headers = call.extra_headers | auth(token)
    kwargs: dict[str, Any] = {}
    if call.json is not None:
        kwargs["json"] = _fill(call.json, names)
    if call.data is not None:
        kwargs["data"] = _fill(call.data, names)
    if call.content is not None:
        kwargs["content"] = call.content
    return client.request(call.method, _fill(call.url, names), headers=headers, **kwargs)


NDJSON = {"content-type": "application/x-ndjson"}
NEW_COMMIT = ndjson(header_line("add new.txt"), file_line("new.txt"))


def _batch(operation: str, oid: str, size: int) -> dict[str, Any]:
    return {"operation": operation, "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]}


def _lfs_calls(repo_type: str) -> list[Call]:
    """The LFS endpoints; model repos have their own routes (no type prefix in the URL)."""
    batch, verify = "{web}.git/info/lfs/objects/batch", "{web}.git/info/lfs/objects/verify"
    route_suffix, id_suffix = ("_model", "") if repo_type == "model" else ("", f"-{repo_type}")
    return [
        Call(f"lfs-batch-download{id_suffix}", f"lfs_batch{route_suffix}", "POST", batch,
             json=_batch("download", LFS_OID, len(LFS_CONTENT)), repo_type=repo_type),
        Call(f"lfs-batch-upload{id_suffix}", f"lfs_batch{route_suffix}", "POST", batch,
             json=_batch("upload", NEW_OID, 12), repo_type=repo_type, write=True, changes=False),
        Call(f"lfs-verify{id_suffix}", f"lfs_verify{route_suffix}", "POST", verify,
             json={"oid": LFS_OID, "size": len(LFS_CONTENT)}, repo_type=repo_type),
    ]  # fmt: skip


def _git_calls(repo_type: str) -> list[Call]:
    """git over HTTP (an empty request, a flush packet, makes git answer without output); model repos have
    their own routes (no type prefix in the URL)."""
    route_suffix, id_suffix = ("_model", "") if repo_type == "model" else ("", f"-{repo_type}")
    upload, receive = "application/x-git-upload-pack-request", "application/x-git-receive-pack-request"
    return [
        Call(f"git-info-refs{id_suffix}", f"git_info_refs{route_suffix}", "GET",
             "{web}/info/refs?service=git-upload-pack", repo_type=repo_type),
        Call(f"git-info-refs-push{id_suffix}", f"git_info_refs{route_suffix}", "GET",
             "{web}.git/info/refs?service=git-receive-pack", repo_type=repo_type, write=True, changes=False),
        Call(f"git-upload-pack{id_suffix}", f"git_upload_pack{route_suffix}", "POST", "{web}/git-upload-pack",
             content=b"0000", extra_headers={"content-type": upload}, repo_type=repo_type),
        Call(f"git-receive-pack{id_suffix}", f"git_receive_pack{route_suffix}", "POST", "{web}.git/git-receive-pack",
             content=b"0000", extra_headers={"content-type": receive}, repo_type=repo_type, write=True, changes=False),
    ]  # fmt: skip


def gate(client: httpx.Client, call: Call, repo_id: str, owner_token: str) -> dict[str, str]:
    """Gate the repo (manual approval) and leave a pending access request of its owner, alice; or open a pull
    request as alice. Returns the names the call's templates need ({comment})."""
    api = f"/api/{API_TYPES[call.repo_type]}/{repo_id}"
    if call.discussion:
        body = ndjson(header_line("Add pr.txt", description="please merge"), file_line("pr.txt"))
        opened = client.post(f"{api}/commit/main?create_pr=1", content=body, headers=NDJSON | auth(owner_token))
        assert opened.status_code == 200, opened.text
        events = client.get(f"{api}/discussions/1", headers=auth(owner_token)).json()["events"]
        return {"comment": events[0]["id"]}
    if not call.gated:
        return {}
    assert client.put(f"{api}/settings", json={"gated": "manual"}, headers=auth(owner_token)).status_code == 200
    assert client.post(f"{api}/ask-access", headers=auth(owner_token)).status_code == 200
    return {}


# discussions and pull requests: reading and taking part need only to see the repo; the rest is for maintainers
DISCUSSION_CALLS = [
    Call("discussions", "list_repo_discussions", "GET", "{api}/discussions"),
    Call("discussion-create", "create_discussion", "POST", "{api}/discussions", json={"title": "hi"}),
    Call("pr-commit", "create_commit", "POST", "{api}/commit/main?create_pr=1", content=NEW_COMMIT,
         extra_headers=NDJSON),
    Call("pr-preupload", "preupload_files", "POST", "{api}/preupload/main?create_pr=1",
         json={"files": [{"path": "new.txt", "sample": "", "size": 4}]}),
    Call("discussion", "get_discussion_details", "GET", "{api}/discussions/1?diff=1", discussion=True),
    Call("discussion-comment", "comment_discussion", "POST", "{api}/discussions/1/comment", json={"comment": "hi"},
         discussion=True),
    Call("discussion-edit", "edit_discussion_comment", "POST", "{api}/discussions/1/comment/{comment}/edit",
         json={"content": "edited"}, discussion=True, author_only=True),
    Call("discussion-hide", "hide_discussion_comment", "POST", "{api}/discussions/1/comment/{comment}/hide",
         discussion=True, write=True, changes=False),
    Call("discussion-title", "rename_discussion", "POST", "{api}/discussions/1/title", json={"title": "renamed"},
         discussion=True, write=True, changes=False),
    Call("discussion-status", "change_discussion_status", "POST", "{api}/discussions/1/status",
         json={"status": "closed"}, discussion=True, write=True, changes=False),
    Call("pr-merge", "merge_pull_request", "POST", "{api}/discussions/1/merge", discussion=True, write=True),
]  # fmt: skip


# gated-repo access requests (asking needs only to see the repo; the rest needs the right to manage it)
ACCESS_REQUEST_CALLS = [
    Call("ask-access", "ask_access", "POST", "{api}/ask-access", json={"reason": "research"}, gated=True),
    Call("access-requests", "list_access_requests", "GET", "{api}/user-access-request/pending", gated=True,
         write=True, changes=False),
    Call("access-request-handle", "handle_access_request", "POST", "{api}/user-access-request/handle",
         json={"user": "alice", "status": "accepted"}, gated=True, write=True, changes=False),
    Call("access-request-grant", "grant_access", "POST", "{api}/user-access-request/grant", json={"user": "alice"},
         gated=True, write=True, changes=False),
]  # fmt: skip

CALLS = [
    Call("info", "get_repo_info", "GET", "{api}"),
    Call("info-dataset", "get_repo_info", "GET", "{api}", repo_type="dataset"),
    Call("revision-info", "get_repo_info_at_revision", "GET", "{api}/revision/main"),
    Call("security-status", "get_repo_info", "GET", "{api}?securityStatus=true"),
    Call("scan", "get_repo_scan_status", "GET", "{api}/scan"),
    Call("scan-dataset", "get_repo_scan_status", "GET", "{api}/scan", repo_type="dataset"),
    Call("tree-root", "list_repo_tree_root", "GET", "{api}/tree/main"),
    Call("tree-folder", "list_repo_tree", "GET", "{api}/tree/main/folder"),
    Call("paths-info", "get_paths_info", "POST", "{api}/paths-info/main", data={"paths": "hello.txt"}),
    Call("resolve-get", "resolve_model_file", "GET", "{web}/resolve/main/hello.txt"),
    Call("resolve-head", "resolve_model_file", "HEAD", "{web}/resolve/main/hello.txt"),
    Call("resolve-lfs-get", "resolve_model_file", "GET", "{web}/resolve/main/weights.bin"),
    Call("resolve-get-dataset", "resolve_file", "GET", "{web}/resolve/main/hello.txt", repo_type="dataset"),
    Call("resolve-head-dataset", "resolve_file", "HEAD", "{web}/resolve/main/hello.txt", repo_type="dataset"),
    Call("refs", "list_repo_refs", "GET", "{api}/refs"),
    Call("auth-check", "auth_check", "GET", "{api}/auth-check"),
    Call("auth-check-write", "auth_check_write", "GET", "{api}/auth-check/write", write=True, changes=False),
    Call("commits", "list_repo_commits", "GET", "{api}/commits/main"),
    Call(
        "preupload",
        "preupload_files",
        "POST",
        "{api}/preupload/main",
        json={"files": [{"path": "new.txt", "sample": "", "size": 4}]},
        write=True,
        changes=False,
    ),
    Call("commit", "create_commit", "POST", "{api}/commit/main", content=NEW_COMMIT, extra_headers=NDJSON, write=True),
    Call("branch-create", "create_branch", "POST", "{api}/branch/dev", write=True),
    Call("branch-delete", "delete_branch", "DELETE", "{api}/branch/keep", write=True),
    Call("tag-create", "create_tag", "POST", "{api}/tag/main", json={"tag": "v1"}, write=True),
    Call("super-squash", "super_squash", "POST", "{api}/super-squash/main", json={"message": "one"}, write=True),
    Call("tag-delete", "delete_tag", "DELETE", "{api}/tag/v0", write=True),
    Call("settings", "update_repo_settings", "PUT", "{api}/settings", json={"private": False}, write=True),
    # liking needs only to see the repo
    Call("like", "like_repo", "POST", "{api}/like"),
    Call("unlike", "unlike_repo", "DELETE", "{api}/like"),
    Call("likers", "list_repo_likers", "GET", "{api}/likers"),
    Call("xet-read-token", "get_xet_read_token", "GET", "{api}/xet-read-token/main"),
    Call("xet-write-token", "get_xet_write_token", "GET", "{api}/xet-write-token/main", write=True, changes=False),
    *_lfs_calls("model"),
    *_lfs_calls("dataset"),
    *_git_calls("model"),
    *_git_calls("dataset"),
    *ACCESS_REQUEST_CALLS,
    *DISCUSSION_CALLS,
    Call(
        "delete",
        "delete_repo",
        "DELETE",
        "/api/repos/delete",
        json={"name": "{name}", "organization": "{ns}", "type": "{type}"},
        write=True,
    ),
    Call(
        "move",
        "move_repo",
        "POST",
        "/api/repos/move",
        json={"fromRepo": "{repo}", "toRepo": "{ns}/renamed", "type": "{type}"},
        write=True,
    ),
]
WRITES = [c for c in CALLS if c.write]
READS = [c for c in CALLS if not c.write and not c.author_only]

# Routes that address no existing repo by namespace/name, and why they need no entry in CALLS.
NOT_REPO_ROUTES = {
    "openapi": "API description",
    "swagger_ui_html": "API description",
    "swagger_ui_redirect": "API description",
    "get_health": "health probe",
    "get_agent_harnesses": "static client probe",
    "get_whoami": "the caller's own account",
    "validate_yaml": "validates a card text; touches no repo",
    "create_repo": "creates a repo; the namespace check is tested in test_bad_input/test_errors",
    "upload_lfs_object": "self-authenticating signed URL (tested in test_bad_input)",
    "upload_lfs_part": "self-authenticating signed URL (tested in test_bad_input)",
    "complete_lfs_multipart": "self-authenticating signed URL (tested in test_bad_input)",
    "download_lfs_object": "self-authenticating signed URL handed out by the batch API",
    **dict.fromkeys(
        [
            "upload_xorb",
            "head_xorb",
            "create_xorb_grant",
            "commit_granted_xorb",
            "upload_shard",
            "upload_shard_v2",
            "get_dedup_shard",
            "get_reconstruction",
            "get_reconstruction_v2",
        ],
        "the Xet CAS: a CAS token (bound to one repo by the token routes) or nothing (tests/api/test_xet_cas.py)",
    ),
    "upload_granted_xorb": "self-authenticating signed URL handed out by a xorb grant (tests/api/test_xet_cas.py)",
    "get_xorb_bytes": "self-authenticating signed URL handed out by a reconstruction (tests/api/test_xet_cas.py)",
    "post_telemetry": "hf_xet's transfer statistics, accepted and dropped",
    **dict.fromkeys(
        [
            "get_is_valid",
            "get_splits",
            "get_first_rows",
            "get_rows",
            "search_rows",
            "filter_rows",
            "get_statistics",
            "get_size",
            "get_info",
            "get_parquet_files",
            "get_opt_in_out_urls",
            "list_parquet",
            "list_config_parquet",
            "list_split_parquet",
        ],
        "the dataset viewer: answers once a conversion job ran; private and gated datasets answer exactly as "
        "missing ones in tests/api/test_access_matrix.py (every caller) and tests/compat/test_dataset_viewer.py",
    ),
    **dict.fromkeys(
        [
            "submit_training_job",
            "run_job",
            "list_training_jobs",
            "list_jobs",
            "get_training_job",
            "get_training_job_log",
            "cancel_training_job",
            "inspect_job",
            "fetch_job_logs",
            "cancel_job",
        ],
        "training jobs, their owner's and site admins' (test_access_matrix; repo access in tests/training)",
    ),
    **dict.fromkeys(
        [
            "call_model",
            "call_model_pipeline",
            "create_model_chat_completion",
            "create_chat_completion",
            "create_embeddings",
            "list_inference_models",
        ],
        "the inference API: every caller against public, private and gated models in tests/api/test_access_matrix.py; "
        "a private model answers exactly as a missing one in tests/inference/test_openai_and_access.py",
    ),
    "lfs_locks_model": "git-lfs locking is not supported: 501 for every URL, whether the repo exists or not",
    "lfs_locks": "git-lfs locking is not supported: 501 for every URL, whether the repo exists or not",
    "list_models": "a listing: test_private_repos_are_listed_only_for_those_who_may_read_them",
    "list_datasets": "a listing: test_private_repos_are_listed_only_for_those_who_may_read_them",
    "list_spaces": "a listing: test_private_repos_are_listed_only_for_those_who_may_read_them",
    "list_liked_repos": "a listing: test_likes_of_private_repos_are_listed_only_for_those_who_may_read_them",
    # the caller's own session and tokens, and site administration: walked by tests/api/test_access_matrix.py
    "create_session": "signs in with a password; no repo",
    "delete_session": "signs out; no repo",
    "list_access_tokens": "the caller's own tokens",
    "create_access_token": "the caller's own tokens",
    "revoke_access_token": "the caller's own tokens",
    "list_own_sessions": "the caller's own website sessions",
    "revoke_own_session": "the caller's own website sessions",
    "revoke_other_sessions": "the caller's own website sessions",
    "change_own_password": "the caller's own password",
    "list_organization_members": "an organisation's members; no repo",
    "list_org_members": "an organisation's members (its members only); no repo",
    "set_org_member": "an organisation's members (its admins only); no repo",
    "remove_org_member": "an organisation's members (its admins only); no repo",
    **dict.fromkeys(
        [
            "admin_list_users",
            "admin_create_user",
            "admin_get_user",
            "admin_update_user",
            "admin_delete_user",
            "admin_reset_user_password",
            "admin_list_user_tokens",
            "admin_create_user_token",
            "admin_revoke_any_token",
            "admin_list_orgs",
            "admin_create_org",
            "admin_delete_org",
            "admin_list_org_members",
            "admin_set_org_member",
            "admin_remove_org_member",
            "admin_list_audit_events",
        ],
        "site administration (site admins only)",
    ),
    **dict.fromkeys(
        ["admin_list_jobs", "admin_get_job", "admin_cancel_job", "admin_retry_job"],
        "background jobs, site admins only (a repo filter lists jobs, never repo content): test_admin_jobs.py",
    ),
}


def _app_routes(app: Any) -> set[tuple[str, str]]:
    """(endpoint name, method) of every API route, routers included. The website's pages (``hubstead.web``) are
    classified, and checked the same way, by tests/web/test_web_privacy.py."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily: app.routes is already flat
        routes = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    return {
        (route.name, method)
        for route in routes
        if not _is_web_page(route)
        for method in (route.methods or {"WEBSOCKET"})
    }


def _is_web_page(route: Any) -> bool:
    return getattr(getattr(route, "endpoint", None), "__module__", "").startswith("hubstead.web.")


def test_every_route_is_classified(app):
    covered = {(c.route, c.method) for c in CALLS}
    routes = _app_routes(app)
    unclassified = sorted(r for r in routes if r not in covered and r[0] not in NOT_REPO_ROUTES)
    assert unclassified == [], "add these routes to CALLS (or NOT_REPO_ROUTES with a reason)"
    stale = sorted(covered - routes) + sorted(set(NOT_REPO_ROUTES) - {name for name, _ in routes})
    assert stale == [], "these entries name routes the app does not have"


def _answer(response: httpx.Response) -> tuple[Any, ...]:
    h = response.headers
    return response.status_code, h.get("x-error-code"), h.get("x-error-message"), response.content


@pytest.fixture
def client(live_server):
    with httpx.Client(base_url=live_server, timeout=30) as c:
        yield c


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.id)
def test_private_repo_is_indistinguishable_from_a_missing_one(client, live_server, hub, user, other_user, call):
    repo_id = "alice/secret"
    seed_repo(live_server, user.token, repo_id, repo_type=call.repo_type, private=True)
    seeded = gate(client, call, repo_id, user.token)
    outsiders = {"anonymous": None, "other user": other_user.token, "other user's read token": other_user.read_token}

    private = {who: _answer(send(client, call, repo_id, token, seeded)) for who, token in outsiders.items()}
    # the same request by the owner succeeds, so the URL and body really reach the endpoint under test
    owner = send(client, call, repo_id, user.token, seeded)
    assert owner.is_success, owner.text
    client.request(
        "DELETE", "/api/repos/delete", json={"name": "secret", "type": call.repo_type}, headers=auth(user.token)
    )
    assert client.get(f"/api/{API_TYPES[call.repo_type]}/{repo_id}", headers=auth(user.token)).status_code == 404
    missing = {who: _answer(send(client, call, repo_id, token, seeded)) for who, token in outsiders.items()}

    assert private == missing
    assert {who: answer[1] for who, answer in private.items()} == dict.fromkeys(outsiders, "RepoNotFound")


@pytest.mark.parametrize("call", WRITES, ids=lambda c: c.id)
def test_write_without_write_access_is_refused_and_changes_nothing(client, live_server, hub, user, other_user, call):
    repo_id = "alice/public"
    seed_repo(live_server, user.token, repo_id, repo_type=call.repo_type)
    seeded = gate(client, call, repo_id, user.token)
    before = snapshot(client, hub, repo_id, user.token, repo_type=call.repo_type)
    callers = {"anonymous": None, "other user": other_user.token, "owner's read token": user.read_token}

    statuses = {who: send(client, call, repo_id, token, seeded).status_code for who, token in callers.items()}

    assert statuses == {"anonymous": 401, "other user": 403, "owner's read token": 403}
    assert snapshot(client, hub, repo_id, user.token, repo_type=call.repo_type) == before


@dataclass(frozen=True)
class OrgRepo:
    repo_id: str
    reader: str  # write token of a member with role "read"
    writer: str  # write token of a member with role "write"


@pytest.fixture
def org_repo(hub, user):
    carol, dave = make_user(hub, "carol"), make_user(hub, "dave")
    make_org(hub, "acme", {"alice": "admin", "carol": "read", "dave": "write"})
    return OrgRepo("acme/secret", reader=carol.token, writer=dave.token)


@pytest.mark.parametrize("call", READS, ids=lambda c: c.id)
def test_org_member_with_read_role_can_read_a_private_org_repo(client, live_server, hub, user, org_repo, call):
    seed_repo(live_server, user.token, org_repo.repo_id, repo_type=call.repo_type, private=True)
    seeded = gate(client, call, org_repo.repo_id, user.token)
    response = send(client, call, org_repo.repo_id, org_repo.reader, seeded)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("call", WRITES, ids=lambda c: c.id)
def test_org_member_needs_the_write_role_to_write(client, live_server, hub, user, org_repo, call):
    repo_id = org_repo.repo_id
    seed_repo(live_server, user.token, repo_id, repo_type=call.repo_type, private=True)
    seeded = gate(client, call, repo_id, user.token)
    before = snapshot(client, hub, repo_id, user.token, repo_type=call.repo_type)

    refused = send(client, call, repo_id, org_repo.reader, seeded)

    assert refused.status_code == 403, refused.text
    assert "X-Error-Code" not in refused.headers  # a refusal, not a pretend "not found": the reader may read it
    assert snapshot(client, hub, repo_id, user.token, repo_type=call.repo_type) == before

    accepted = send(client, call, repo_id, org_repo.writer, seeded)

    assert accepted.is_success, accepted.text
    info = client.get(f"/api/{API_TYPES[call.repo_type]}/{repo_id}", headers=auth(user.token))
    after = snapshot(client, hub, repo_id, user.token, repo_type=call.repo_type) if info.status_code == 200 else None
    assert (after != before) == call.changes


# --- listings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_private_repos_are_listed_only_for_those_who_may_read_them(client, hub, user, other_user, repo_type):
    member = make_user(hub, "dave")  # an org member with the lowest role
    make_org(hub, "acme", {"alice": "admin", "dave": "read"})
    for repo_id, private in [("alice/open", False), ("alice/hidden", True), ("acme/hidden-too", True)]:
        name, org = repo_id.split("/")[1], repo_id.split("/")[0]
        created = client.post(
            "/api/repos/create",
            json={"name": name, "organization": org, "type": repo_type, "private": private},
            headers=auth(user.token),
        )
        assert created.status_code == 200, created.text

    def listed(token: str | None, **params: str) -> set[str]:
        response = client.get(f"/api/{API_TYPES[repo_type]}", params=params, headers=auth(token))
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()}

    everything = {"alice/open", "alice/hidden", "acme/hidden-too"}
    assert listed(user.token) == everything
    assert listed(member.token) == {"alice/open", "acme/hidden-too"}
    for token in (None, other_user.token, other_user.read_token):
        assert listed(token) == {"alice/open"}
        assert listed(token, author="alice") == {"alice/open"}
        assert listed(token, search="hidden") == set()


def test_likes_of_private_repos_are_listed_only_for_those_who_may_read_them(client, user, other_user):
    for name, private in [("open", False), ("hidden", True)]:
        response = client.post("/api/repos/create", json={"name": name, "private": private}, headers=auth(user.token))
        assert response.status_code == 200, response.text
        liked = client.post(f"/api/models/alice/{name}/like", headers=auth(user.token))
        assert liked.status_code == 200, liked.text

    def likes(token: str | None) -> set[str]:
        response = client.get("/api/users/alice/likes", headers=auth(token))
        assert response.status_code == 200, response.text
        return {item["repo"]["name"] for item in response.json()}

    assert likes(user.token) == {"alice/open", "alice/hidden"}
    assert likes(None) == likes(other_user.token) == likes(other_user.read_token) == {"alice/open"}
