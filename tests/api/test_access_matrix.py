"""The permission matrix: every HTTP endpoint of the app (taken from its route table, so that a new endpoint
cannot escape it) by every kind of caller by public, private and gated repos, each answer checked.

The callers include those a gated repo tells apart: users without an accepted access request (through a write
token, a read token, a fine-grained token, or the website's session cookie) and users with one (through a write
token, a fine-grained token that may or may not read gated repos, or a session). A session cookie is taken on
GET and HEAD only: on any other method its caller is anonymous, which the matrix checks too. Endpoints whose
answer carries file content besides metadata (a pull request's diff) say so (``content``): the content must be
there exactly when the caller may read the repo's files.

One hub state per test, walked in-process (httpx through ASGITransport, on the ``app`` fixture): the whole
matrix runs in seconds on each database backend. Expectations come from one small table, ``LEVELS`` (what each
caller's account and credential allow in each namespace), and the rules of ``expected()``; a private repo
that a caller may not read must answer exactly as a missing one does.

Callers that succeed at destructive calls (delete, move) get the repo restored before the next cell; calls
that need a precondition (a branch to delete, a pending access request to handle) get it set up first."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hubstead.accounts.models import OrgRole, TokenRole
from hubstead.accounts.services import AccountService
from hubstead.accounts.sessions import SessionService
from hubstead.inference.client import WorkerClient
from hubstead.jobs.models import JobState
from tests.api._support import API_TYPES, LFS_CONTENT, LFS_OID, URL_PREFIX, auth, file_line, header_line, ndjson
from tests.api.test_privacy import NEW_COMMIT, NEW_OID, _app_routes, _batch

NONE, READ, CONTRIBUTE, WRITE = 0, 1, 2, 3
PASSWORD = "correct horse battery"
REPO_UID = "0" * 32  # signed LFS URLs name the repo by id and uid

# --- callers ----------------------------------------------------------------------------------------

# What each caller may do in each namespace (private repos; public ones are readable by every valid caller).
# Members, owners and the site admin call with write tokens: what their roles allow is all they may do.
LEVELS: dict[str, dict[str, int]] = {
    "anonymous": {},
    "other user": {},
    "org reader": {"acme": READ},
    "org contributor": {"acme": CONTRIBUTE},
    "org writer": {"acme": WRITE},
    "org admin": {"acme": WRITE},
    "owner": {"alice": WRITE},
    "read token": {"alice": READ},  # the owner's read token
    "org admin read token": {"acme": READ},
    "fine-grained in scope": {"acme": WRITE},  # the org admin's token scoped to org acme with repo.write
    "fine-grained read in scope": {"alice": READ},  # the owner's token scoped to user alice, repo.content.read
    "fine-grained out of scope": {},  # the org admin's token scoped to another repo only
    "revoked token": {},
    "site admin": {"acme": WRITE, "alice": WRITE},
    # gated repos: neither members nor owners; "granted" ones had their access request to every gated repo accepted
    "session": {},  # a signed-in user without a grant, through the website's session cookie
    "granted user": {},
    "granted fine-grained": {},  # the granted user's fine-grained token with canReadGatedRepos (and no scopes)
    "granted fine-grained, gated off": {},  # ... without canReadGatedRepos
    "granted session": {},  # another granted user, through a session cookie
}
GRANTED = {"granted user", "granted fine-grained", "granted session"}  # may read the gated repos' files
# callers that are members of no namespace: acme's public, private and gated repos answer them as alice's would,
# so they walk acme's only (which keeps the matrix fast)
ONE_NAMESPACE = {"session", *GRANTED, "granted fine-grained, gated off"}
SESSIONS = {"session", "granted session"}
SESSION = "session:"  # marks a session secret among the callers' tokens (see creds)
SAFE_METHODS = ("GET", "HEAD")  # the only ones a session cookie authenticates


@dataclass
class Hub:
    client: httpx.AsyncClient
    hub: Any
    tokens: dict[str, str | None]
    root: str  # the site admin's write token
    rita: str  # a user who asks for access (the target of grant/handle)
    counter: Iterator[int] = field(default_factory=itertools.count)


USERS = {
    "other user": "bob",
    "org reader": "carol",
    "org contributor": "erin",
    "org writer": "dave",
    "org admin": "olga",
    "owner": "alice",
    "read token": "alice",
    "org admin read token": "olga",
    "fine-grained in scope": "olga",
    "fine-grained read in scope": "alice",
    "fine-grained out of scope": "olga",
    "revoked token": "olga",
    "site admin": "root",
    "session": "sam",
    "granted user": "gina",
    "granted fine-grained": "gina",
    "granted fine-grained, gated off": "gina",
    "granted session": "gwen",  # only ever a session: no token caller revokes it (revoke_other_sessions)
}


# routes that take the session cookie on any method, and why no cross-site form can abuse that
COOKIE_ON_ANY_METHOD = {"change_own_password": "the body must hold the current password"}


def acting(caller: str, method: str, route: str = "") -> str:
    """Who the server sees: a session cookie on anything but GET and HEAD is no credential at all."""
    if caller in SESSIONS and method not in SAFE_METHODS and route not in COOKIE_ON_ANY_METHOD:
        return "anonymous"
    return caller


def creds(token: str | None) -> dict[str, str]:
    """The headers of a caller: its token, or the website's session cookie."""
    if token is not None and token.startswith(SESSION):
        return {"cookie": f"hubstead_session={token.removeprefix(SESSION)}"}
    return auth(token)


def build_callers(hub: Any) -> tuple[dict[str, str | None], str]:
    """The callers' tokens, and a token of rita (who asks for access). Only rita has a password (hashing one
    takes a while, and the others never sign in)."""
    clear: dict[str, str] = {}
    with hub.sessions.begin() as session:
        accounts = AccountService(session)
        users = {name: accounts.create_user(name, is_admin=name == "root") for name in set(USERS.values())}
        rita = accounts.create_user("rita", password=PASSWORD)
        acme = accounts.create_org("acme")
        for name, role in [("carol", "read"), ("erin", "contributor"), ("dave", "write"), ("olga", "admin")]:
            accounts.set_membership(acme, users[name], OrgRole(role))
        for caller, role, rights in [
            ("other user", TokenRole.WRITE, None),
            ("org reader", TokenRole.WRITE, None),
            ("org contributor", TokenRole.WRITE, None),
            ("org writer", TokenRole.WRITE, None),
            ("org admin", TokenRole.WRITE, None),
            ("owner", TokenRole.WRITE, None),
            ("read token", TokenRole.READ, None),
            ("org admin read token", TokenRole.READ, None),
            ("fine-grained in scope", TokenRole.FINE_GRAINED, scope("org", "acme", "repo.write") | GATED_TOO),
            ("fine-grained read in scope", TokenRole.FINE_GRAINED, scope("user", "alice", "repo.content.read")),
            ("fine-grained out of scope", TokenRole.FINE_GRAINED, scope("model", "acme/elsewhere", "repo.write")),
            ("revoked token", TokenRole.WRITE, None),
            ("site admin", TokenRole.WRITE, None),
            ("granted user", TokenRole.WRITE, None),
            ("granted fine-grained", TokenRole.FINE_GRAINED, {"global": [], "scoped": []} | GATED_TOO),
            ("granted fine-grained, gated off", TokenRole.FINE_GRAINED, {"global": [], "scoped": []}),
        ]:
            token, clear[caller] = accounts.create_token(users[USERS[caller]], caller, role, rights)
            if caller == "revoked token":
                accounts.revoke_token(users[USERS[caller]], token.id)
        for caller in sorted(SESSIONS):
            clear[caller] = SESSION + SessionService(session).create_session(users[USERS[caller]])
        _, rita_token = accounts.create_token(rita, "rita", TokenRole.WRITE)
    return {"anonymous": None} | clear, rita_token


GATED_TOO = {"canReadGatedRepos": True}


def scope(entity_type: str, name: str, *permissions: str) -> dict[str, Any]:
    return {"scoped": [{"entity": {"type": entity_type, "name": name}, "permissions": list(permissions)}]}


# --- repos --------------------------------------------------------------------------------------------

SLOTS = {  # (namespace, visibility) -> name
    ("acme", "public"): "open",
    ("acme", "private"): "secret",
    ("acme", "gated"): "gated",
    ("alice", "private"): "secret",
    ("alice", "gated"): "gated",
}


async def recreate(client: httpx.AsyncClient, token: str, repo_id: str, repo_type: str, visibility: str) -> None:
    """An empty repo (its initial commit only), private or gated as asked."""
    ns, name = repo_id.split("/")
    created = await client.post(
        "/api/repos/create",
        json={"name": name, "organization": ns, "type": repo_type, "private": visibility == "private"},
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    if visibility == "gated":
        api = f"/api/{API_TYPES[repo_type]}/{repo_id}"
        gated = await client.put(f"{api}/settings", json={"gated": "manual"}, headers=auth(token))
        assert gated.status_code == 200, gated.text


async def seed(client: httpx.AsyncClient, token: str, repo_id: str, repo_type: str, visibility: str) -> None:
    """A repo with a small file, a nested one, an LFS file, a branch ``keep`` and a tag ``v0``; in-process."""
    await recreate(client, token, repo_id, repo_type, "private" if visibility == "private" else "public")
    api, web = f"/api/{API_TYPES[repo_type]}/{repo_id}", f"/{URL_PREFIX[repo_type]}{repo_id}"
    batch = await client.post(
        f"{web}.git/info/lfs/objects/batch", json=_batch("upload", LFS_OID, len(LFS_CONTENT)), headers=auth(token)
    )
    assert batch.status_code == 200, batch.text
    for obj in batch.json()["objects"]:
        if "actions" in obj:
            assert (await client.put(obj["actions"]["upload"]["href"], content=LFS_CONTENT)).status_code == 200
    lfs = {"key": "lfsFile", "value": {"path": "weights.bin", "algo": "sha256", "oid": LFS_OID}}
    body = ndjson(header_line("seed"), file_line("hello.txt", b"hello\n"), file_line("folder/nested.txt"), lfs)
    committed = await client.post(
        f"{api}/commit/main", content=body, headers={"content-type": "application/x-ndjson"} | auth(token)
    )
    assert committed.status_code == 200, committed.text
    assert (await client.post(f"{api}/branch/keep", headers=auth(token))).status_code == 200
    assert (await client.post(f"{api}/tag/main", json={"tag": "v0"}, headers=auth(token))).status_code == 200
    if visibility == "gated":
        gated = await client.put(f"{api}/settings", json={"gated": "manual"}, headers=auth(token))
        assert gated.status_code == 200, gated.text
        for user in sorted({USERS[caller] for caller in GRANTED}):
            granted = await client.post(f"{api}/user-access-request/grant", json={"user": user}, headers=auth(token))
            assert granted.status_code == 200, granted.text


# --- calls --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request. Templates: {api}, {web}, {repo}, {ns}, {name}, {type}, and {n}, unique per cell."""

    id: str
    route: str
    method: str
    url: str
    need: str  # read | like | files | contribute | write | ask | requests | manage-requests | discuss | own
    json: Any = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    repo_type: str = "model"
    # keep-branch | v0-tag | rita-pending | discussion | pr (by the site admin) | own-discussion | own-pr (by the
    # caller, if it may take part in discussions there; else by the site admin)
    before: str | None = None
    after: str | None = None  # recreate | move-back
    shows: str | None = None  # a key of the JSON answer that holds file content: there iff the caller may read files
    # what ``before`` made (by the site admin) serves every caller of the repo: the call changes nothing the next
    # caller's answer depends on (one pull request per repo rather than one per cell keeps the matrix fast)
    shared_before: bool = False


NDJSON = {"content-type": "application/x-ndjson"}
BRANCH_COMMIT = ndjson(header_line("on a branch"), file_line("branch.txt"))


def _transport_calls(repo_type: str) -> list[Call]:
    suffix = "_model" if repo_type == "model" else ""
    batch, verify = "{web}.git/info/lfs/objects/batch", "{web}.git/info/lfs/objects/verify"
    upload, receive = "application/x-git-upload-pack-request", "application/x-git-receive-pack-request"
    t = repo_type
    return [
        Call(f"lfs-download-{t}", f"lfs_batch{suffix}", "POST", batch, "files",
             json=_batch("download", LFS_OID, len(LFS_CONTENT)), repo_type=t),
        Call(f"lfs-upload-{t}", f"lfs_batch{suffix}", "POST", batch, "contribute",
             json=_batch("upload", NEW_OID, 12), repo_type=t),
        Call(f"lfs-verify-{t}", f"lfs_verify{suffix}", "POST", verify, "files",
             json={"oid": LFS_OID, "size": len(LFS_CONTENT)}, repo_type=t),
        Call(f"git-refs-{t}", f"git_info_refs{suffix}", "GET", "{web}/info/refs?service=git-upload-pack", "files",
             repo_type=t),
        Call(f"git-refs-push-{t}", f"git_info_refs{suffix}", "GET", "{web}.git/info/refs?service=git-receive-pack",
             "contribute", repo_type=t),
        Call(f"git-upload-pack-{t}", f"git_upload_pack{suffix}", "POST", "{web}/git-upload-pack", "files",
             content=b"0000", headers={"content-type": upload}, repo_type=t),
        Call(f"git-receive-pack-{t}", f"git_receive_pack{suffix}", "POST", "{web}.git/git-receive-pack",
             "contribute", content=b"0000", headers={"content-type": receive}, repo_type=t),
        Call(f"resolve-{t}", "resolve_model_file" if t == "model" else "resolve_file", "GET",
             "{web}/resolve/main/hello.txt", "files", repo_type=t),
        Call(f"resolve-head-{t}", "resolve_model_file" if t == "model" else "resolve_file", "HEAD",
             "{web}/resolve/main/weights.bin", "files", repo_type=t),
        Call(f"info-{t}", "get_repo_info", "GET", "{api}", "read", repo_type=t),
    ]  # fmt: skip


CHAT = [{"role": "user", "content": "hi"}]
# the inference API: answered by a fake worker (see state) once the hub's checks pass, which are resolve's
INFERENCE_CALLS = [
    Call("inference", "call_model", "POST", "/models/{repo}", "files", json={"inputs": "hi"}),
    Call("inference-pipeline", "call_model_pipeline", "POST", "/models/{repo}/pipeline/feature-extraction", "files",
         json={"inputs": "hi"}),
    Call("inference-chat-model", "create_model_chat_completion", "POST", "/models/{repo}/v1/chat/completions",
         "files", json={"messages": CHAT}),
    Call("inference-chat", "create_chat_completion", "POST", "/v1/chat/completions", "files",
         json={"model": "{repo}", "messages": CHAT}),
    Call("inference-embeddings", "create_embeddings", "POST", "/v1/embeddings", "files",
         json={"model": "{repo}", "input": "hi"}),
]  # fmt: skip

REPO_CALLS = [
    *_transport_calls("model"),
    *INFERENCE_CALLS,
    *_transport_calls("dataset"),
    Call("revision-info", "get_repo_info_at_revision", "GET", "{api}/revision/keep", "read"),
    Call("scan", "get_repo_scan_status", "GET", "{api}/scan", "read"),
    Call("scan-dataset", "get_repo_scan_status", "GET", "{api}/scan", "read", repo_type="dataset"),
    Call("tree-root", "list_repo_tree_root", "GET", "{api}/tree/main", "read"),
    Call("tree-folder", "list_repo_tree", "GET", "{api}/tree/main/folder", "read"),
    Call("paths-info", "get_paths_info", "POST", "{api}/paths-info/main", "read", data={"paths": "hello.txt"}),
    Call("refs", "list_repo_refs", "GET", "{api}/refs", "read"),
    Call("auth-check", "auth_check", "GET", "{api}/auth-check", "files"),
    Call("auth-check-write", "auth_check_write", "GET", "{api}/auth-check/write", "write"),
    Call("commits", "list_repo_commits", "GET", "{api}/commits/main", "read"),
    Call("likers", "list_repo_likers", "GET", "{api}/likers", "read"),
    Call("xet-read-token", "get_xet_read_token", "GET", "{api}/xet-read-token/main", "files"),
    Call("xet-write-token", "get_xet_write_token", "GET", "{api}/xet-write-token/main", "contribute"),
    Call("like", "like_repo", "POST", "{api}/like", "like"),
    Call("unlike", "unlike_repo", "DELETE", "{api}/like", "like"),
    Call("preupload", "preupload_files", "POST", "{api}/preupload/keep", "contribute",
         json={"files": [{"path": "new.txt", "sample": "", "size": 4}]}),
    Call("commit-branch", "create_commit", "POST", "{api}/commit/keep", "contribute", content=BRANCH_COMMIT,
         headers=NDJSON),
    Call("commit-main", "create_commit", "POST", "{api}/commit/main", "write", content=NEW_COMMIT, headers=NDJSON),
    Call("branch-create", "create_branch", "POST", "{api}/branch/b{n}", "contribute"),
    Call("branch-delete", "delete_branch", "DELETE", "{api}/branch/keep", "write", before="keep-branch"),
    Call("super-squash", "super_squash", "POST", "{api}/super-squash/keep", "contribute", json={"message": "one"},
         before="keep-branch"),
    Call("tag-create", "create_tag", "POST", "{api}/tag/main", "write", json={"tag": "t{n}"}),
    Call("tag-delete", "delete_tag", "DELETE", "{api}/tag/v0", "write", before="v0-tag"),
    Call("settings", "update_repo_settings", "PUT", "{api}/settings", "write", json={"protectMain": False}),
    Call("ask-access", "ask_access", "POST", "{api}/ask-access", "ask", json={"reason": "research"}),
    Call("access-requests", "list_access_requests", "GET", "{api}/user-access-request/pending", "requests"),
    Call("access-handle", "handle_access_request", "POST", "{api}/user-access-request/handle", "manage-requests",
         json={"user": "rita", "status": "accepted"}, before="rita-pending"),
    Call("access-grant", "grant_access", "POST", "{api}/user-access-request/grant", "manage-requests",
         json={"user": "rita"}, before="rita-pending"),
    # discussions and pull requests: read by readers; opened and commented by signed-in readers whose credential
    # may write discussions; their own ones closed, renamed and pushed to by their authors; the rest by maintainers
    Call("discussions", "list_repo_discussions", "GET", "{api}/discussions?status=open", "read"),
    Call("discussion-create", "create_discussion", "POST", "{api}/discussions", "discuss",
         json={"title": "t{n}", "description": "d"}),
    Call("pr-create", "create_discussion", "POST", "{api}/discussions", "discuss",
         json={"title": "t{n}", "pullRequest": True}),
    Call("pr-commit", "create_commit", "POST", "{api}/commit/main?create_pr=1", "discuss", content=BRANCH_COMMIT,
         headers=NDJSON),
    Call("pr-preupload", "preupload_files", "POST", "{api}/preupload/main?create_pr=1", "discuss",
         json={"files": [{"path": "new.txt", "sample": "", "size": 4}]}),
    Call("pr-details", "get_discussion_details", "GET", "{api}/discussions/{num}?diff=1", "read", before="pr",
         shows="diff", shared_before=True),
    Call("discussion-comment", "comment_discussion", "POST", "{api}/discussions/{num}/comment", "discuss",
         json={"comment": "c{n}"}, before="discussion", shared_before=True),
    Call("discussion-edit", "edit_discussion_comment", "POST", "{api}/discussions/{num}/comment/{comment}/edit",
         "own", json={"content": "e{n}"}, before="own-discussion"),
    Call("discussion-hide", "hide_discussion_comment", "POST", "{api}/discussions/{num}/comment/{comment}/hide",
         "own", before="own-discussion"),
    Call("discussion-hide-other", "hide_discussion_comment", "POST",
         "{api}/discussions/{num}/comment/{comment}/hide", "write", before="discussion", shared_before=True),
    Call("discussion-title", "rename_discussion", "POST", "{api}/discussions/{num}/title", "write",
         json={"title": "r{n}"}, before="discussion", shared_before=True),
    Call("discussion-close", "change_discussion_status", "POST", "{api}/discussions/{num}/status", "write",
         json={"status": "closed"}, before="discussion"),
    Call("discussion-close-own", "change_discussion_status", "POST", "{api}/discussions/{num}/status", "own",
         json={"status": "closed"}, before="own-discussion"),
    Call("pr-push-own", "create_commit", "POST", "{api}/commit/refs%2Fpr%2F{num}", "own", content=BRANCH_COMMIT,
         headers=NDJSON, before="own-pr"),
    Call("pr-push-other", "create_commit", "POST", "{api}/commit/refs%2Fpr%2F{num}", "write", content=BRANCH_COMMIT,
         headers=NDJSON, before="pr", shared_before=True),
    Call("pr-merge", "merge_pull_request", "POST", "{api}/discussions/{num}/merge", "write", before="pr"),
    # the dataset viewer: as the dataset's files (the seeded dataset's text files convert to config "default")
    *[
        Call(f"viewer-{endpoint}", route, "GET", f"/datasets-server/{endpoint}?dataset={{repo}}{extra}", "files",
             repo_type="dataset")
        for endpoint, route, extra in (
            ("is-valid", "get_is_valid", ""),
            ("splits", "get_splits", ""),
            ("first-rows", "get_first_rows", "&config=default&split=train"),
            ("rows", "get_rows", "&config=default&split=train&offset=0&length=10"),
            ("search", "search_rows", "&config=default&split=train&query=hello"),
            ("filter", "filter_rows", "&config=default&split=train&where=%22text%22%3D%27hello%27"),
            ("statistics", "get_statistics", "&config=default&split=train"),
            ("size", "get_size", ""),
            ("info", "get_info", ""),
            ("parquet", "get_parquet_files", ""),
            ("opt-in-out-urls", "get_opt_in_out_urls", ""),
        )
    ],
    Call("parquet-list", "list_parquet", "GET", "{api}/parquet", "files", repo_type="dataset"),
    Call("parquet-config", "list_config_parquet", "GET", "{api}/parquet/default", "files", repo_type="dataset"),
    Call("parquet-split", "list_split_parquet", "GET", "{api}/parquet/default/train", "files", repo_type="dataset"),
    Call("move", "move_repo", "POST", "/api/repos/move", "write",
         json={"fromRepo": "{repo}", "toRepo": "{ns}/moved{n}", "type": "{type}"}, after="move-back"),
    Call("delete", "delete_repo", "DELETE", "/api/repos/delete", "write",
         json={"name": "{name}", "organization": "{ns}", "type": "{type}"}, after="recreate"),
]  # fmt: skip


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


async def send(
    client: httpx.AsyncClient, call: Call, repo_id: str, token: str | None, n: int, seeded: dict[str, str] | None = None
) -> Any:
    ns, name = repo_id.split("/")
    names = {
        "api": f"/api/{API_TYPES[call.repo_type]}/{repo_id}",
        "web": f"/{URL_PREFIX[call.repo_type]}{repo_id}",
        "repo": repo_id,
        "ns": ns,
        "name": name,
        "type": call.repo_type,
        "n": str(n),
    }
    names = {"num": "1", "comment": "1"} | (seeded or {}) | names  # a missing repo's calls get placeholders
    kwargs: dict[str, Any] = {}
    if call.json is not None:
        kwargs["json"] = _fill(call.json, names)
    if call.data is not None:
        kwargs["data"] = call.data
    if call.content is not None:
        kwargs["content"] = call.content
    return await client.request(call.method, _fill(call.url, names), headers=call.headers | creds(token), **kwargs)


# --- expectations ---------------------------------------------------------------------------------------

OK, MISSING, DENIED, GATED, BAD, INVALID = "ok", "missing", "denied", "gated", "bad", "invalid credentials"
JOB_MISSING = "job missing"
READ_ONLY_TOKENS = ("read token", "org admin read token")


def may_read_files(caller: str, ns: str, visibility: str) -> bool:
    """Whether ``caller`` (as the server sees it) may read the files of a repo it may read: a gated repo's need
    membership or an accepted access request."""
    return visibility != "gated" or LEVELS[caller].get(ns, NONE) >= READ or caller in GRANTED


def expected(caller: str, call: Call, ns: str, visibility: str) -> str:
    caller = acting(caller, call.method)
    if caller == "revoked token":
        return INVALID
    member = LEVELS[caller].get(ns, NONE)
    level = member if visibility == "private" else max(member, READ)
    if level < READ:
        return MISSING
    anonymous, gated = caller == "anonymous", visibility == "gated"
    need = call.need
    if need == "read":
        return OK
    if need == "files":
        return OK if may_read_files(caller, ns, visibility) else GATED
    if need in ("discuss", "own"):  # "own": what it changes is the caller's own, if it may take part at all
        return OK if may_discuss(caller, ns) else DENIED
    if need == "like":  # a write to the caller's account: not with a read-only token, as on huggingface.co
        return DENIED if anonymous or caller in READ_ONLY_TOKENS else OK
    if need == "ask":
        if anonymous:
            return DENIED
        return OK if gated else BAD
    if need in ("requests", "manage-requests"):
        if member < WRITE:  # the repo's managers, with a full credential (or repo.write)
            return DENIED
        return OK if gated else BAD
    return OK if level >= (CONTRIBUTE if need == "contribute" else WRITE) else DENIED


def check(outcome: str, response: Any, missing: Any, anonymous: bool) -> str | None:
    """None if ``response`` is what ``outcome`` says; else what is wrong."""
    status, code = response.status_code, response.headers.get("x-error-code")
    if outcome == OK:
        return None if 200 <= status < 300 else f"{status} {code} {response.headers.get('x-error-message')}"
    if outcome == MISSING:
        got = (status, code, response.headers.get("x-error-message"), response.content)
        want = (missing.status_code, missing.headers.get("x-error-code"), missing.headers.get("x-error-message"))
        if got != (*want, missing.content) or code != "RepoNotFound":
            return f"{status} {code} differs from a missing repo's {want[0]} {want[1]}"
        return None
    if outcome == GATED:
        want = 401 if anonymous else 403
        return None if (status, code) == (want, "GatedRepo") else f"{status} {code}, expected {want} GatedRepo"
    if outcome == DENIED:
        want = 401 if anonymous else 403
        ok = status == want and code not in ("RepoNotFound", "GatedRepo")
        return None if ok else f"{status} {code}, expected {want}"
    if outcome == BAD:
        return None if status == 400 else f"{status} {code}, expected 400"
    message = response.headers.get("x-error-message", "")
    return None if status == 401 and "Invalid credentials" in message else f"{status} {message}, expected 401"


def check_shows(key: str, response: Any, allowed: bool) -> str | None:
    shown = key in response.json()
    if shown == allowed:
        return None
    return f"{'shows' if shown else 'does not show'} {key!r} (file content)"


# --- walking --------------------------------------------------------------------------------------------


@pytest.fixture
async def state(app: Any, hub: Any) -> AsyncIterator[Hub]:
    tokens, rita = build_callers(hub)
    fake_worker = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    hub.inference_client = WorkerClient("http://worker", None, 10, transport=fake_worker)
    with warnings.catch_warnings():
        # FastAPI names the GET and HEAD operations of one route alike (resolve, LFS downloads) and warns once,
        # when it first builds the OpenAPI description: build it here, where the warning is expected
        warnings.simplefilter("ignore", UserWarning)
        app.openapi()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client:
        root = tokens["site admin"]
        assert root is not None
        for (ns, visibility), name in SLOTS.items():
            for repo_type in ("model", "dataset"):
                await seed(client, root, f"{ns}/{name}", repo_type, visibility)
        hub.wait_for_jobs(120)  # the datasets' conversions (the viewer's routes answer from them)
        yield Hub(client=client, hub=hub, tokens=tokens, root=root, rita=rita)


def may_discuss(caller: str, ns: str) -> bool:
    """Whether the caller's credential may write to discussions in ``ns`` (reading the repo aside)."""
    if caller in ("anonymous", "revoked token", *SESSIONS, *NO_DISCUSSION_RIGHTS):
        return False
    return caller != "fine-grained in scope" or ns == "acme"  # its repo.write scope covers acme only


# read tokens, and fine-grained tokens without discussion.write or repo.write where they are used
NO_DISCUSSION_RIGHTS = (
    "read token",
    "org admin read token",
    "fine-grained read in scope",
    "fine-grained out of scope",
    "granted fine-grained",
    "granted fine-grained, gated off",
)


async def open_discussion(state: Hub, call: Call, repo_id: str, visibility: str, caller: str) -> dict[str, str]:
    """A discussion (with a first comment) or a pull request (with a commit), as ``call.before`` asks."""
    ns, api = repo_id.split("/")[0], f"/api/{API_TYPES[call.repo_type]}/{repo_id}"
    token = state.root
    if call.before in ("own-discussion", "own-pr") and visible(caller, ns, visibility) and may_discuss(caller, ns):
        token = state.tokens[caller] or state.root
    if call.before in ("pr", "own-pr"):
        body = ndjson(header_line("a change", description="please"), file_line(f"pr{next(state.counter)}.txt"))
        opened = await state.client.post(f"{api}/commit/main?create_pr=1", content=body, headers=NDJSON | creds(token))
        assert opened.status_code == 200, opened.text
        return {"num": opened.json()["pullRequestUrl"].rsplit("/", 1)[1]}
    opened = await state.client.post(f"{api}/discussions", json={"title": "a question", "description": "why?"},
                                     headers=creds(token))  # fmt: skip
    assert opened.status_code == 200, opened.text
    num = opened.json()["num"]
    details = await state.client.get(f"{api}/discussions/{num}", headers=auth(state.root))
    return {"num": str(num), "comment": details.json()["events"][0]["id"]}


async def prepare(state: Hub, call: Call, repo_id: str, visibility: str, caller: str = "") -> dict[str, str]:
    """Set up what the call needs; returns the names its templates need ({num}, {comment})."""
    client, api = state.client, f"/api/{API_TYPES[call.repo_type]}/{repo_id}"
    if call.before in ("discussion", "pr", "own-discussion", "own-pr"):
        return await open_discussion(state, call, repo_id, visibility, caller)
    if call.before == "keep-branch":
        assert (await client.post(f"{api}/branch/keep", headers=auth(state.root))).status_code in (200, 409)
    elif call.before == "v0-tag":
        assert (await client.post(f"{api}/tag/main", json={"tag": "v0"}, headers=auth(state.root))).status_code in (
            200,
            409,
        )
    elif call.before == "rita-pending" and visibility == "gated":
        assert (await client.post(f"{api}/ask-access", headers=auth(state.rita))).status_code == 200
        handled = await client.post(
            f"{api}/user-access-request/handle", json={"user": "rita", "status": "pending"}, headers=auth(state.root)
        )
        assert handled.status_code in (200, 404)  # 404: already pending
    return {}


async def clean_up(state: Hub, call: Call, repo_id: str, visibility: str, response: Any, n: int) -> None:
    if not response.is_success:
        return
    if call.after == "recreate":  # delete is the last call: the repo need only exist, as it was seen
        await recreate(state.client, state.root, repo_id, call.repo_type, visibility)
    elif call.after == "move-back":
        ns = repo_id.split("/")[0]
        back = {"fromRepo": f"{ns}/moved{n}", "toRepo": repo_id, "type": call.repo_type}
        assert (await state.client.post("/api/repos/move", json=back, headers=auth(state.root))).status_code == 200


async def walk(state: Hub, namespaces: set[str]) -> list[str]:
    problems: list[str] = []
    shared: dict[tuple[str, str], dict[str, str]] = {}  # (call, repo) -> what its shared ``before`` made
    for call in REPO_CALLS:
        # what each caller gets for a repo that does not exist (its namespace does not change the answer)
        missing = {
            caller: await send(state.client, call, "acme/ghost", token, next(state.counter))
            for caller, token in state.tokens.items()
        }
        for (ns, visibility), name in SLOTS.items():
            if ns not in namespaces:
                continue
            repo_id = f"{ns}/{name}"
            for caller, token in state.tokens.items():
                if caller in ONE_NAMESPACE and ns != "acme":
                    continue
                if call.shared_before and (call.id, repo_id) in shared:
                    seeded = shared[call.id, repo_id]
                else:
                    seeded = shared[call.id, repo_id] = await prepare(state, call, repo_id, visibility, caller)
                n = next(state.counter)
                response = await send(state.client, call, repo_id, token, n, seeded)
                outcome, server_sees = expected(caller, call, ns, visibility), acting(caller, call.method)
                wrong = check(outcome, response, missing[caller], server_sees == "anonymous")
                if wrong is None and outcome == OK and call.shows is not None:
                    wrong = check_shows(call.shows, response, may_read_files(server_sees, ns, visibility))
                if wrong:
                    problems.append(f"{call.id:20} {visibility:8} {repo_id:13} {caller:31} want {outcome:8}: {wrong}")
                await clean_up(state, call, repo_id, visibility, response, n)
    return problems


@pytest.mark.anyio
async def test_repo_endpoints_answer_every_caller_as_the_matrix_says(state):
    problems = await walk(state, {"acme", "alice"})
    assert not problems, "\n".join(problems)


# --- endpoints that address no repo ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccountCall:
    """A request to an endpoint that takes no repo. ``rule``: who may call it. Templates: {n} (unique),
    {user} (the caller's own user name), {token_id} and {name} (made by ``before``)."""

    route: str
    method: str
    url: str
    rule: str  # who may call it (see account_outcome): anyone, public, signed-in, full-credential, org-member, ...
    # org-admin, site-admin, signed-url, unsupported
    json: Any = None
    content: bytes | None = None
    # own-token | own-session | own-password | rita-token | throwaway-user | throwaway-org | rita-member |
    # queued-job | failed-job
    before: str | None = None
    after: str | None = None  # new-sessions: the call signed the session callers out; sign them in again


XET = "/api/hubstead/xet"

ACCOUNT_CALLS = [
    AccountCall("get_health", "GET", "/api/health", "anyone"),
    AccountCall("list_inference_models", "GET", "/v1/models", "public"),
    AccountCall("get_agent_harnesses", "GET", "/api/agent-harnesses", "anyone"),
    *[
        AccountCall(route, method, url, "anyone")
        for route, url in [
            ("openapi", "/api/hubstead/openapi.json"),
            ("swagger_ui_html", "/api/hubstead/docs"),
            ("swagger_ui_redirect", "/api/hubstead/docs/oauth2-redirect"),
        ]
        for method in ("GET", "HEAD")
    ],
    AccountCall("validate_yaml", "POST", "/api/validate-yaml", "anyone", json={"content": "---\nlicense: mit\n---\n"}),
    AccountCall("create_session", "POST", "/api/hubstead/login", "anyone",
                json={"username": "rita", "password": PASSWORD}),
    AccountCall("delete_session", "POST", "/api/hubstead/logout", "anyone", after="new-sessions"),
    AccountCall("get_whoami", "GET", "/api/whoami-v2", "signed-in"),
    AccountCall("list_access_tokens", "GET", "/api/hubstead/tokens", "full-credential"),
    AccountCall("create_access_token", "POST", "/api/hubstead/tokens", "full-credential",
                json={"displayName": "new", "role": "read"}),
    AccountCall("revoke_access_token", "DELETE", "/api/hubstead/tokens/{token_id}", "full-credential",
                before="own-token"),
    AccountCall("admin_list_users", "GET", "/api/hubstead/admin/users", "site-admin"),
    AccountCall("admin_create_user", "POST", "/api/hubstead/admin/users", "site-admin", json={"name": "new{n}"}),
    AccountCall("admin_get_user", "GET", "/api/hubstead/admin/users/rita", "site-admin"),
    AccountCall("admin_update_user", "PATCH", "/api/hubstead/admin/users/rita", "site-admin",
                json={"disabled": False}),
    AccountCall("admin_delete_user", "DELETE", "/api/hubstead/admin/users/{name}", "site-admin",
                before="throwaway-user"),
    AccountCall("admin_list_user_tokens", "GET", "/api/hubstead/admin/users/rita/tokens", "site-admin"),
    AccountCall("admin_create_user_token", "POST", "/api/hubstead/admin/users/rita/tokens", "site-admin",
                json={"displayName": "by-admin", "role": "read"}),
    AccountCall("admin_revoke_any_token", "DELETE", "/api/hubstead/admin/tokens/{token_id}", "site-admin",
                before="rita-token"),
    AccountCall("admin_list_orgs", "GET", "/api/hubstead/admin/orgs", "site-admin"),
    AccountCall("admin_create_org", "POST", "/api/hubstead/admin/orgs", "site-admin", json={"name": "org{n}"}),
    AccountCall("admin_delete_org", "DELETE", "/api/hubstead/admin/orgs/{name}", "site-admin",
                before="throwaway-org"),
    AccountCall("admin_list_org_members", "GET", "/api/hubstead/admin/orgs/acme/members", "site-admin"),
    AccountCall("admin_set_org_member", "PUT", "/api/hubstead/admin/orgs/acme/members/rita", "site-admin",
                json={"role": "read"}),
    AccountCall("admin_remove_org_member", "DELETE", "/api/hubstead/admin/orgs/acme/members/rita", "site-admin",
                before="rita-member"),
    AccountCall("admin_reset_user_password", "PUT", "/api/hubstead/admin/users/rita/password", "site-admin",
                json={"password": PASSWORD}),
    AccountCall("list_own_sessions", "GET", "/api/hubstead/sessions", "full-credential"),
    AccountCall("revoke_own_session", "DELETE", "/api/hubstead/sessions/{session_id}", "full-credential",
                before="own-session"),
    AccountCall("revoke_other_sessions", "DELETE", "/api/hubstead/sessions", "full-credential"),
    AccountCall("change_own_password", "POST", "/api/hubstead/password", "full-credential",
                json={"currentPassword": PASSWORD, "newPassword": "a new password"}, before="own-password"),
    AccountCall("list_organization_members", "GET", "/api/organizations/acme/members", "public"),
    AccountCall("list_org_members", "GET", "/api/hubstead/orgs/acme/members", "org-member"),
    AccountCall("set_org_member", "PUT", "/api/hubstead/orgs/acme/members/rita", "org-admin", json={"role": "read"}),
    AccountCall("remove_org_member", "DELETE", "/api/hubstead/orgs/acme/members/rita", "org-admin",
                before="rita-member"),
    AccountCall("admin_list_audit_events", "GET", "/api/hubstead/admin/audit", "site-admin"),
    AccountCall("admin_list_audit_events", "GET", "/api/hubstead/admin/audit?format=jsonl", "site-admin"),
    AccountCall("admin_list_jobs", "GET", "/api/hubstead/admin/jobs?state=queued,failed&repo=acme/secret",
                "site-admin"),
    AccountCall("admin_get_job", "GET", "/api/hubstead/admin/jobs/{job_id}", "site-admin", before="queued-job"),
    AccountCall("admin_cancel_job", "POST", "/api/hubstead/admin/jobs/{job_id}/cancel", "site-admin",
                before="queued-job"),
    AccountCall("admin_retry_job", "POST", "/api/hubstead/admin/jobs/{job_id}/retry", "site-admin",
                before="failed-job"),
    # training jobs: submitted with a write credential (a fine-grained token needs job.write on its account);
    # seen only by their owner and site admins (another user's job looks missing); an empty config is a 400
    AccountCall("submit_training_job", "POST", "/api/hubstead/training/jobs", "job-submit", json={}),
    AccountCall("run_job", "POST", "/api/jobs/alice", "job-submit",
                json={"dockerImage": "hubstead", "command": ["hubstead", "train"]}),
    AccountCall("list_training_jobs", "GET", "/api/hubstead/training/jobs", "signed-in"),
    AccountCall("list_jobs", "GET", "/api/jobs/alice", "signed-in"),
    *[
        AccountCall(route, method, url, rule, before="alice-train-job")
        for route, method, url, rule in [
            ("get_training_job", "GET", "/api/hubstead/training/jobs/{job_id}", "job-owner"),
            ("get_training_job_log", "GET", "/api/hubstead/training/jobs/{job_id}/logs", "job-owner"),
            ("cancel_training_job", "POST", "/api/hubstead/training/jobs/{job_id}/cancel", "job-owner-write"),
            ("inspect_job", "GET", "/api/jobs/alice/{job_id}", "job-owner"),
            ("fetch_job_logs", "GET", "/api/jobs/alice/{job_id}/logs", "job-owner"),
            ("cancel_job", "POST", "/api/jobs/alice/{job_id}/cancel", "job-owner-write"),
        ]
    ],
    # self-authenticating URLs handed out by the LFS batch API: nobody gets in without a valid signature
    AccountCall("upload_lfs_object", "PUT", f"/api/hubstead/lfs/upload/1/{REPO_UID}/{LFS_OID}/3", "signed-url",
                content=b"abc"),
    AccountCall("upload_lfs_part", "PUT", f"/api/hubstead/lfs/upload/1/{REPO_UID}/{LFS_OID}/3/part/1", "signed-url",
                content=b"abc"),
    AccountCall("complete_lfs_multipart", "POST", f"/api/hubstead/lfs/upload/1/{REPO_UID}/{LFS_OID}/3", "signed-url",
                json={"oid": LFS_OID, "parts": []}),
    AccountCall("download_lfs_object", "GET", f"/api/hubstead/lfs/objects/1/{REPO_UID}/{LFS_OID}", "signed-url"),
    AccountCall("download_lfs_object", "HEAD", f"/api/hubstead/lfs/objects/1/{REPO_UID}/{LFS_OID}", "signed-url"),
    # the Xet CAS takes only the CAS tokens the hub's xet-*-token routes hand out (bound to one repo, checked
    # there); a hub credential, valid or not, is not one. Xorb bytes and grant uploads are signed URLs.
    *[
        AccountCall(route, method, f"{XET}{path}", "cas-token", content=b"x")
        for route, method, path in [
            ("upload_xorb", "POST", f"/v1/xorbs/default/{LFS_OID}"),
            ("head_xorb", "HEAD", f"/v1/xorbs/default/{LFS_OID}"),
            ("create_xorb_grant", "POST", f"/v1/xorb-grants/default/{LFS_OID}"),
            ("commit_granted_xorb", "POST", f"/v1/xorb-commits/default/{LFS_OID}/grant/abc"),
            ("upload_shard", "POST", "/v1/shards"),
            ("upload_shard_v2", "POST", "/v2/shards"),
            ("get_dedup_shard", "GET", f"/v1/chunks/default/{LFS_OID}"),
            ("get_reconstruction", "GET", f"/v1/reconstructions/{LFS_OID}"),
            ("get_reconstruction_v2", "GET", f"/v2/reconstructions/{LFS_OID}"),
        ]
    ],
    AccountCall("upload_granted_xorb", "PUT", f"{XET}/grants/{LFS_OID}/abc/3/7", "signed-url", content=b"abc"),
    AccountCall("get_xorb_bytes", "GET", f"{XET}/xorbs/{LFS_OID}.abc", "signed-url"),
    AccountCall("get_xorb_bytes", "HEAD", f"{XET}/xorbs/{LFS_OID}.abc", "signed-url"),
    AccountCall("post_telemetry", "POST", "/v1/telemetry", "anyone", json={}),
    # git-lfs locking is not supported, for anyone, on any repo (git-lfs then turns lock checks off)
    AccountCall("lfs_locks_model", "GET", "/acme/secret.git/info/lfs/locks", "unsupported"),
    AccountCall("lfs_locks_model", "POST", "/acme/secret.git/info/lfs/locks/verify", "unsupported", json={}),
    AccountCall("lfs_locks", "GET", "/datasets/acme/secret.git/info/lfs/locks", "unsupported"),
    AccountCall("lfs_locks", "POST", "/datasets/acme/secret.git/info/lfs/locks", "unsupported", json={}),
]  # fmt: skip

# creating a repo, and listings: the namespace or the result depends on the caller (see test_listings...)
NAMESPACE_ROUTES = {
    ("create_repo", "POST"),
    ("list_models", "GET"),
    ("list_datasets", "GET"),
    ("list_spaces", "GET"),
    ("list_liked_repos", "GET"),
}
FULL_CREDENTIAL = {
    "other user", "org reader", "org contributor", "org writer", "org admin", "owner", "site admin", "granted user",
    *SESSIONS,  # on GET and HEAD; on the other methods a session is no credential (see acting)
}  # fmt: skip
# who sees acme's members with their roles (members with any token but a fine-grained one lacking
# org.members.read), and who manages them (its admin, and the site admin, with write tokens)
ORG_MEMBER = {"org reader", "org contributor", "org writer", "org admin", "org admin read token", "site admin"}
ORG_ADMIN = {"org admin", "site admin"}


def account_outcome(rule: str, caller: str) -> str:
    if rule in ("anyone", "signed-url", "unsupported", "cas-token"):
        return rule
    if caller == "revoked token":
        return INVALID
    if rule == "public":  # anybody, anonymous included; a bad credential is refused as everywhere
        return OK
    if caller == "anonymous":
        return DENIED
    if rule.startswith("job-"):
        return job_outcome(rule, caller)
    allowed = {
        "signed-in": True,
        "full-credential": caller in FULL_CREDENTIAL,
        "org-member": caller in ORG_MEMBER,
        "org-admin": caller in ORG_ADMIN,
        "site-admin": caller == "site admin",
    }
    return OK if allowed[rule] else DENIED


def job_outcome(rule: str, caller: str) -> str:
    """Training jobs (alice's): read by alice's credentials and the site admin, others find nothing; cancelling
    and submitting need a write credential, and fine-grained tokens job.write (none of the callers' has it)."""
    writes = caller in FULL_CREDENTIAL and caller not in SESSIONS
    if rule == "job-submit":
        return BAD if writes else DENIED
    if USERS.get(caller) not in ("alice", "root"):
        return JOB_MISSING
    return OK if rule == "job-owner" or writes else DENIED


def prepare_account_call(state: Hub, call: AccountCall, caller: str, n: int) -> dict[str, str]:
    names = {"n": str(n), "token_id": "999999", "name": f"gone{n}", "session_id": "999999", "job_id": "999999"}
    if call.before is None:
        return names
    with state.hub.sessions.begin() as session:
        accounts = AccountService(session)
        if call.before == "own-token" and caller in USERS:
            token, _ = accounts.create_token(accounts.get_user(USERS[caller]), f"t{n}", TokenRole.READ)
            names["token_id"] = str(token.id)
        elif call.before == "own-session" and caller in USERS:
            user = accounts.get_user(USERS[caller])
            SessionService(session).create_session(user)
            names["session_id"] = str(SessionService(session).list_user_sessions(user)[0].id)
        elif call.before == "own-password" and caller in USERS:
            accounts.set_password(accounts.get_user(USERS[caller]), PASSWORD)
        elif call.before == "rita-token":
            token, _ = accounts.create_token(accounts.get_user("rita"), f"t{n}", TokenRole.READ)
            names["token_id"] = str(token.id)
        elif call.before == "throwaway-user":
            accounts.create_user(names["name"])
        elif call.before == "throwaway-org":
            accounts.create_org(names["name"])
        elif call.before == "rita-member":
            accounts.set_membership(accounts.get_org("acme"), accounts.get_user("rita"), OrgRole.READ)
        elif call.before == "alice-train-job":
            alice = accounts.get_user("alice")
            job = state.hub.jobs.enqueue(session, "train", {"config": {}, "submitter": alice.id}, account_id=alice.id)
            names["job_id"] = str(job.id)
        elif call.before in ("queued-job", "failed-job"):  # a job nothing runs here: no worker in this app
            job = state.hub.jobs.enqueue(session, "xet.gc", {"grace_hours": 24})
            if call.before == "failed-job":
                job.state, job.attempts, job.error = JobState.FAILED, 1, "it broke"
            session.flush()
            names["job_id"] = str(job.id)
    return names


def check_account_call(outcome: str, response: Any, anonymous: bool) -> str | None:
    status = response.status_code
    if outcome == "anyone":
        return None if 200 <= status < 300 or status == 307 else f"{status}, expected a success"
    if outcome == "signed-url":
        return None if status == 403 else f"{status}, expected 403 (not signed)"
    if outcome == "unsupported":
        return None if status == 501 else f"{status}, expected 501"
    if outcome == "cas-token":
        return None if status == 401 else f"{status}, expected 401 (not a CAS token)"
    if outcome == JOB_MISSING:
        return None if status == 404 else f"{status}, expected 404 (another's job looks missing)"
    return check(outcome, response, None, anonymous)


async def walk_account_calls(state: Hub) -> list[str]:
    problems = []
    for call in ACCOUNT_CALLS:
        for caller, token in state.tokens.items():
            n = next(state.counter)
            names = prepare_account_call(state, call, caller, n)
            kwargs: dict[str, Any] = {"json": _fill(call.json, names)} if call.json is not None else {}
            if call.content is not None:
                kwargs["content"] = call.content
            response = await state.client.request(
                call.method, call.url.format(**names), headers=creds(token), follow_redirects=False, **kwargs
            )
            server_sees = acting(caller, call.method, call.route)
            outcome = account_outcome(call.rule, server_sees)
            wrong = check_account_call(outcome, response, server_sees == "anonymous")
            if wrong:
                problems.append(f"{call.route:26} {call.method:6} {caller:31} want {outcome:8}: {wrong}")
        if call.after == "new-sessions":
            with state.hub.sessions.begin() as session:
                for caller in SESSIONS:
                    user = AccountService(session).get_user(USERS[caller])
                    state.tokens[caller] = SESSION + SessionService(session).create_session(user)
    return problems


def visible(caller: str, ns: str, visibility: str) -> bool:
    return visibility != "private" or LEVELS[caller].get(ns, NONE) >= READ


async def walk_namespaces(state: Hub) -> list[str]:
    """Creating repos (in a namespace), and listings (of what each caller may see)."""
    client, problems = state.client, []
    for (ns, _), name in SLOTS.items():
        for repo_type in ("model", "dataset"):
            liked = await client.post(f"/api/{API_TYPES[repo_type]}/{ns}/{name}/like", headers=auth(state.root))
            assert liked.status_code == 200
    for caller, token in state.tokens.items():
        for ns in ("acme", "alice"):
            n = next(state.counter)
            created = await client.post(
                "/api/repos/create", json={"name": f"new{n}", "organization": ns}, headers=creds(token)
            )
            level = LEVELS[caller].get(ns, NONE)
            outcome = INVALID if caller == "revoked token" else OK if level >= WRITE else DENIED
            wrong = check(outcome, created, None, acting(caller, "POST") == "anonymous")
            if wrong:
                problems.append(f"create_repo in {ns:6} {caller:31} want {outcome}: {wrong}")
            if created.is_success:  # the listings below count only the seeded repos
                await client.request("DELETE", "/api/repos/delete", json={"name": f"new{n}", "organization": ns},
                               headers=auth(state.root))  # fmt: skip
        want = {
            repo_type: {f"{ns}/{name}" for (ns, vis), name in SLOTS.items() if visible(caller, ns, vis)}
            for repo_type in ("model", "dataset")
        }
        listings = {
            "models": ("/api/models", want["model"]),
            "datasets": ("/api/datasets", want["dataset"]),
            "spaces": ("/api/spaces", set()),
            "likes": ("/api/users/root/likes", None),
        }
        for label, (url, ids) in listings.items():
            response = await client.get(url, headers=creds(token))
            if caller == "revoked token":
                if response.status_code != 401:
                    problems.append(f"{label} {caller}: {response.status_code}, expected 401")
                continue
            if label == "likes":
                got = {(i["repo"]["type"], i["repo"]["name"]) for i in response.json()}
                expected_likes = {(t, r) for t in ("model", "dataset") for r in want[t]}
                if got != expected_likes:
                    problems.append(f"likes {caller}: {sorted(got ^ expected_likes)} listed wrongly")
                continue
            got_ids = {i["id"] for i in response.json()}
            if got_ids != ids:
                problems.append(f"{label} {caller}: {sorted(got_ids ^ ids)} listed wrongly")
    return problems


@pytest.mark.anyio
async def test_endpoints_without_a_repo_answer_every_caller_as_the_matrix_says(state):
    problems = await walk_account_calls(state) + await walk_namespaces(state)
    assert not problems, "\n".join(problems)


def test_the_matrix_covers_every_endpoint(app):
    covered = {(c.route, c.method) for c in REPO_CALLS} | {(c.route, c.method) for c in ACCOUNT_CALLS}
    routes = _app_routes(app)
    assert sorted(routes - covered - NAMESPACE_ROUTES) == [], "add these endpoints to the matrix"
    assert sorted((covered | NAMESPACE_ROUTES) - routes) == [], "the matrix names endpoints the app does not have"
