"""Bad input gets a 4xx with a clear message and leaves everything exactly as it was: the same head sha,
files and refs, and no object (or leftover temp file) in the blob store."""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from hubstead.objects import blob_key
from hubstead.repos.lfs import PIECE_SIZE
from hubstead.repos.models import Repo
from tests.api._support import (
    LFS_CONTENT,
    LFS_OID,
    SMALL,
    auth,
    blob_files,
    commit,
    file_line,
    header_line,
    ndjson,
    seed_repo,
    snapshot,
)

REPO = "alice/repo"
REPO_UID = "0" * 32  # signed LFS URLs name the repo by id and uid
PAYLOAD = b"the real bytes of a large file\n"
PAYLOAD_OID = hashlib.sha256(PAYLOAD).hexdigest()
LFS_JSON = {"accept": "application/vnd.git-lfs+json", "content-type": "application/vnd.git-lfs+json"}


@pytest.fixture
def client(live_server):
    with httpx.Client(base_url=live_server, timeout=30) as c:
        yield c


@pytest.fixture
def repo(live_server, user) -> str:
    seed_repo(live_server, user.token, REPO)
    return REPO


@pytest.fixture
def unchanged(client, hub, user, repo):
    """Asserts, after the test body, that the repo and the blob store are exactly as before it."""
    before = snapshot(client, hub, repo, user.token)
    yield
    assert snapshot(client, hub, repo, user.token) == before


def assert_refused(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message


# --- NDJSON commit bodies -------------------------------------------------------------------------

GOOD = file_line("added.txt")  # every malformed body also carries a valid change: none of it may land
B64_JUNK = {"path": "b.txt", "content": "@@@", "encoding": "base64"}
ROT13 = {"path": "b.txt", "content": "x", "encoding": "rot13"}
MALFORMED_COMMITS = [
    ("not-json", ndjson(header_line(), GOOD) + b"{this is not json}\n", "line 3", "not valid JSON"),
    ("not-utf8", ndjson(header_line(), GOOD) + b"\xff\xfe\xfd\n", "line 3"),
    ("json-but-not-an-object", ndjson(header_line(), GOOD) + b"[1, 2]\n", "line 3"),
    ("value-not-an-object", ndjson(header_line(), GOOD, {"key": "file", "value": "added.txt"}), "line 3"),
    ("no-header", ndjson(GOOD), "header"),
    ("header-not-first", ndjson(GOOD, header_line()), "header"),
    ("two-headers", ndjson(header_line(), GOOD, header_line()), "only one header"),
    ("empty-body", b"", "header"),
    ("header-without-summary", ndjson({"key": "header", "value": {"description": "x"}}, GOOD), "summary"),
    ("parent-commit-not-a-sha", ndjson(header_line(parentCommit="main"), GOOD), "parentCommit"),
    ("unknown-operation", ndjson(header_line(), GOOD, {"key": "renameFile", "value": {"path": "a"}}), "renameFile"),
    ("bad-base64", ndjson(header_line(), GOOD, file_line("b.txt") | {"value": B64_JUNK}), "base64"),
    ("unknown-encoding", ndjson(header_line(), GOOD, file_line("b.txt") | {"value": ROT13}), "encoding"),
    ("content-not-a-string", ndjson(header_line(), GOOD, {"key": "file", "value": {"path": "b.txt"}}), "content"),
    ("missing-path", ndjson(header_line(), GOOD, {"key": "file", "value": {"content": "aGk=", "encoding": "base64"}}),
     "path"),
    ("path-not-a-string", ndjson(header_line(), GOOD, {"key": "deletedFile", "value": {"path": 3}}), "path"),
    (
        "lfs-oid-not-a-sha256",
        ndjson(header_line(), GOOD, {"key": "lfsFile", "value": {"path": "b.bin", "algo": "sha256", "oid": "abc"}}),
        "sha256",
    ),
    (
        "lfs-wrong-size",
        ndjson(header_line(), GOOD, {"key": "lfsFile", "value": {"path": "b.bin", "algo": "sha256", "oid": LFS_OID,
                                                                  "size": len(LFS_CONTENT) + 1}}),
        "size",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "fragments"), [(c[1], c[2:]) for c in MALFORMED_COMMITS], ids=[c[0] for c in MALFORMED_COMMITS]
)
def test_malformed_commit_is_refused_and_changes_nothing(client, user, repo, unchanged, body, fragments):
    assert_refused(commit(client, repo, body, user.token), 400, *fragments)


def test_oversized_commit_body_is_refused_and_changes_nothing(client, settings, user, repo, unchanged):
    settings.max_commit_body_bytes = 1000  # the hub reads its settings per request

    response = commit(client, repo, ndjson(header_line(), file_line("big.txt", b"x" * 2000)), user.token)

    assert_refused(response, 413, "larger than")


# --- paths ------------------------------------------------------------------------------------------

TRAVERSALS = ["../x", "a/../../b", "/abs", ".git/config", "a/.git/x", "..\\ddd", "a//b", "./a", "a/./b", "a\x00b"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_commit_with_a_path_escaping_the_repo_is_unprocessable(client, user, repo, unchanged, path):
    response = commit(client, repo, ndjson(header_line(), GOOD, file_line(path)), user.token)

    assert_refused(response, 422, "invalid path")


# paths git refuses or git fsck flags (they were 500s, or landed and broke clones), and names that display as
# others: each a clear 422, and nothing lands
GIT_REFUSED_PATHS = [
    ".GIT/config", "git~1/x", ".git./x", ".git /x", ".g\u200dit/x", "a/.gIt/hooks/post-checkout", ".git:x/y",
    ".gitmodules/x", ".GITMODULES", "gitmod~1", "a\x7fb", "evil\u202egpj.exe", "a\u2066b", "x\ud800",
]  # fmt: skip


@pytest.mark.parametrize("path", GIT_REFUSED_PATHS)
def test_commit_with_a_path_git_refuses_is_unprocessable(client, user, repo, unchanged, path):
    body = ndjson(header_line(), GOOD, file_line(path))  # JSON escapes even a lone surrogate

    response = commit(client, repo, body, user.token)

    assert_refused(response, 422, "invalid path")


@pytest.mark.parametrize("path", [".GIT/config", "a\u202eb"])
def test_preupload_with_a_path_git_refuses_is_unprocessable(client, user, repo, path):
    response = client.post(
        f"/api/models/{repo}/preupload/main",
        json={"files": [{"path": path, "sample": "", "size": 1}]},
        headers=auth(user.token),
    )

    assert_refused(response, 422, "invalid path")


@pytest.mark.parametrize(
    ("path", "content", "fragment"),
    [
        (".gitmodules", b'[submodule "x"]\n\turl = -upload-pack=touch /tmp/pwned\n', "disallowed submodule url"),
        ("sub/.gitmodules", b'[submodule "../../x"]\n\turl = https://example.org/x\n', "submodule name"),
        (".gitattributes", b"*.bin filter=lfs\n" + b"x" * 3000 + b"\n", "2048 bytes"),
    ],
    ids=["gitmodules-option-url", "gitmodules-traversal-name", "gitattributes-long-line"],
)
def test_commit_of_a_git_file_git_fsck_refuses_is_refused(client, user, repo, unchanged, path, content, fragment):
    response = commit(client, repo, ndjson(header_line(), GOOD, file_line(path, content)), user.token)

    assert_refused(response, 400, fragment)


@pytest.mark.parametrize(
    "operation",
    [
        {"key": "lfsFile", "value": {"path": "../x.bin", "algo": "sha256", "oid": LFS_OID, "size": len(LFS_CONTENT)}},
        {"key": "deletedFile", "value": {"path": "../hello.txt"}},
        {"key": "deletedFolder", "value": {"path": "folder/../../"}},
    ],
    ids=lambda op: op["key"],
)
def test_every_commit_operation_checks_its_path(client, user, repo, unchanged, operation):
    response = commit(client, repo, ndjson(header_line(), GOOD, operation), user.token)

    assert_refused(response, 422, "invalid path")


@pytest.mark.parametrize("path", ["../x", ".git/config"])
def test_preupload_with_a_path_escaping_the_repo_is_unprocessable(client, user, repo, unchanged, path):
    response = client.post(
        f"/api/models/{repo}/preupload/main",
        json={"files": [{"path": "ok.txt", "sample": "", "size": 1}, {"path": path, "sample": "", "size": 1}]},
        headers=auth(user.token),
    )

    assert_refused(response, 422, "invalid path")


# --- LFS: objects never uploaded, uploads that don't match, forged upload URLs ---------------------------


def batch_upload(client: httpx.Client, repo: str, token: str, oid: str, size: int, transfers: list[str]) -> Any:
    response = client.post(
        f"/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": transfers, "objects": [{"oid": oid, "size": size}]},
        headers=LFS_JSON | auth(token),
    )
    assert response.status_code == 200, response.text
    return response.json()


def upload_href(client: httpx.Client, repo: str, token: str) -> str:
    body = batch_upload(client, repo, token, PAYLOAD_OID, len(PAYLOAD), ["basic"])
    return body["objects"][0]["actions"]["upload"]["href"]


def lfs_file(path: str, oid: str, size: int) -> dict[str, Any]:
    return {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}}


def test_commit_referencing_an_lfs_object_never_uploaded_is_refused(client, hub, user, repo, unchanged):
    response = commit(client, repo, ndjson(header_line(), GOOD, lfs_file("big.bin", PAYLOAD_OID, 31)), user.token)

    assert_refused(response, 422, PAYLOAD_OID, "never uploaded")
    assert not hub.blobs.exists(blob_key(PAYLOAD_OID))


def test_commit_referencing_an_lfs_object_uploaded_only_to_another_repo_is_refused(
    client, live_server, hub, user, other_user, repo
):
    """Knowing a hash must not give access to someone else's (possibly private) file."""
    seed_repo(live_server, other_user.token, "bob/private", private=True)
    href = upload_href(client, "bob/private", other_user.token)
    assert client.put(href, content=PAYLOAD).status_code == 200
    assert hub.blobs.exists(blob_key(PAYLOAD_OID))
    before = snapshot(client, hub, repo, user.token)

    body = ndjson(header_line(), GOOD, lfs_file("stolen.bin", PAYLOAD_OID, len(PAYLOAD)))
    response = commit(client, repo, body, user.token)

    assert_refused(response, 422, "never uploaded")
    assert snapshot(client, hub, repo, user.token) == before


@pytest.mark.parametrize(
    "content",
    [b"The real bytes of a large file\n", PAYLOAD[:-1], PAYLOAD + b"!", b""],
    ids=["same-size-other-bytes", "too-short", "too-long", "empty"],
)
def test_lfs_upload_that_does_not_match_its_oid_stores_nothing(client, hub, user, repo, unchanged, content):
    blobs_before = blob_files(hub)
    href = upload_href(client, repo, user.token)

    response = client.put(href, content=content)

    assert_refused(response, 400, PAYLOAD_OID)
    assert not hub.blobs.exists(blob_key(PAYLOAD_OID))
    assert blob_files(hub) == blobs_before  # no temp file left behind either
    # the object is still unknown: the batch API asks for it again, verify and commit refuse it
    again = batch_upload(client, repo, user.token, PAYLOAD_OID, len(PAYLOAD), ["basic"])
    assert "actions" in again["objects"][0]
    verify = client.post(
        f"/{repo}.git/info/lfs/objects/verify",
        json={"oid": PAYLOAD_OID, "size": len(PAYLOAD)},
        headers=LFS_JSON | auth(user.token),
    )
    assert_refused(verify, 422, PAYLOAD_OID)
    body = ndjson(header_line(), lfs_file("big.bin", PAYLOAD_OID, len(PAYLOAD)))
    assert_refused(commit(client, repo, body, user.token), 422, "never uploaded")


@pytest.mark.parametrize("corrupt", [False, True], ids=["intact", "one-byte-changed-in-the-second-piece"])
def test_a_large_upload_in_odd_sized_chunks_is_stored_whole_or_not_at_all(client, hub, user, repo, corrupt):
    """Several receive pieces (page-aligned buffers taken in turns, written past the page cache) and a tail."""
    content = os.urandom(2 * PIECE_SIZE + 12_345)
    oid = hashlib.sha256(content).hexdigest()
    sent = bytearray(content)
    if corrupt:
        sent[PIECE_SIZE + 777] ^= 0xFF
    body = batch_upload(client, repo, user.token, oid, len(content), ["basic"])
    href = body["objects"][0]["actions"]["upload"]["href"]
    odd = [sent[i : i + 100_003] for i in range(0, len(sent), 100_003)]

    response = client.put(href, content=iter(bytes(chunk) for chunk in odd), headers={"content-length": str(len(sent))})

    if corrupt:
        assert_refused(response, 400, oid)
        assert not hub.blobs.exists(blob_key(oid))
    else:
        assert response.status_code == 200, response.text
        assert b"".join(hub.blobs.read_range(blob_key(oid))) == content


def test_multipart_lfs_upload_that_does_not_match_its_oid_stores_nothing(client, settings, hub, user, repo, unchanged):
    settings.lfs_multipart_threshold, settings.lfs_multipart_chunk_size = 1, 8
    blobs_before = blob_files(hub)
    body = batch_upload(client, repo, user.token, PAYLOAD_OID, len(PAYLOAD), ["basic", "multipart"])
    upload = body["objects"][0]["actions"]["upload"]
    header = upload["header"]
    wrong = PAYLOAD.upper()
    chunk = int(header["chunk_size"])
    parts = []
    for number in sorted(int(k) for k in header if k.isdigit()):
        put = client.put(header[str(number)], content=wrong[(number - 1) * chunk : number * chunk])
        assert put.status_code == 200, put.text
        parts.append({"partNumber": number, "etag": put.headers["etag"]})

    response = client.post(upload["href"], json={"oid": PAYLOAD_OID, "parts": parts}, headers=LFS_JSON)

    assert_refused(response, 400, PAYLOAD_OID)
    assert not hub.blobs.exists(blob_key(PAYLOAD_OID))
    assert blob_files(hub) == blobs_before  # parts are cleaned up too


def _tamper(href: str, **changes: str | None) -> str:
    parts = urlsplit(href)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    path = changes.pop("path", None) or parts.path
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return f"{parts.scheme}://{parts.netloc}{path}?{urlencode(query)}"


def _flip(text: str) -> str:
    """``text`` with its last character changed."""
    return text[:-1] + ("1" if text[-1] == "0" else "0")


TAMPERINGS = {
    "signature-changed": lambda href, q, p: _tamper(href, sig=_flip(q["sig"])),
    "signature-missing": lambda href, q, p: _tamper(href, sig=None),
    "expiry-extended": lambda href, q, p: _tamper(href, expires=str(int(q["expires"]) + 3600)),
    "expiry-missing": lambda href, q, p: _tamper(href, expires=None),
    "size-changed": lambda href, q, p: _tamper(href, path=p.replace(f"/{len(PAYLOAD)}", f"/{len(PAYLOAD) + 1}")),
    "repo-changed": lambda href, q, p: _tamper(href, path=p.replace("/upload/1/", "/upload/2/")),
    "oid-changed": lambda href, q, p: _tamper(href, path=p.replace(PAYLOAD_OID, LFS_OID)),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampered_upload_url_is_refused(client, hub, user, repo, tamper):
    href = upload_href(client, repo, user.token)
    parts = urlsplit(href)
    assert "/upload/1/" in parts.path  # the tamperings below assume the first repo's pk
    forged = tamper(href, {k: v[0] for k, v in parse_qs(parts.query).items()}, parts.path)
    assert forged != href
    blobs_before = blob_files(hub)

    response = client.put(forged, content=PAYLOAD)

    assert_refused(response, 403, "upload url")
    assert blob_files(hub) == blobs_before
    # the genuine URL still works: the forgery was the only thing wrong
    assert client.put(href, content=PAYLOAD).status_code == 200
    added = blob_files(hub) - blobs_before
    assert blob_key(PAYLOAD_OID) in added
    assert all(key.startswith("xet/xorbs/") for key in added - {blob_key(PAYLOAD_OID)})  # its Xet conversion


def test_expired_upload_url_is_refused(client, hub, user, repo, unchanged):
    path = urlsplit(upload_href(client, repo, user.token)).path
    expired = hub.signer.sign(path, now=time.time() - hub.signer.ttl_seconds - 60)

    response = client.put(expired, content=PAYLOAD)

    assert_refused(response, 403, "expired")
    assert not hub.blobs.exists(blob_key(PAYLOAD_OID))


# --- repo names -------------------------------------------------------------------------------------

INVALID_NAMES = ["a..b", "-x", "x-", "x" * 200, "x.git", "X.GIT", "with space", "modèle", "a--b", ".x", "a/b/c"]


def _repo_count(hub) -> int:
    with hub.sessions() as session:
        return session.scalar(select(func.count()).select_from(Repo))


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_repo_name_is_refused_and_creates_nothing(client, hub, user, name):
    git_before = sorted(p.name for p in hub.git.root.rglob("*.git"))

    response = client.post("/api/repos/create", json={"name": name, "type": "model"}, headers=auth(user.token))

    assert_refused(response, 400, "invalid repo")
    assert _repo_count(hub) == 0
    assert sorted(p.name for p in hub.git.root.rglob("*.git")) == git_before


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": "x" * 201}, {"name": "ok", "type": "bucket"}, {"name": 3}], ids=str
)
def test_create_body_that_fails_validation_is_refused(client, hub, user, body):
    response = client.post("/api/repos/create", json=body, headers=auth(user.token))

    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith("Invalid request")
    assert _repo_count(hub) == 0


# --- NUL bytes: PostgreSQL refuses them in strings and libgit2 truncates at them --------------------------

NUL_INPUTS = [
    ("GET", "/api/models/alice/a%00b", None, 400),
    ("GET", "/api/models/a%00b/repo", None, 400),
    ("GET", "/a%00b/repo/resolve/main/hello.txt", None, 400),
    ("POST", "/a%00b/repo.git/info/lfs/objects/batch", {"operation": "download", "objects": []}, 400),
    # a literal NUL must not be read as the encoded slash the router uses internally
    ("POST", "/api/models/alice/repo/branch/b1%00junk", None, 400),
    ("GET", "/alice/repo/resolve/main/folder%00nested.txt", None, 400),
    ("DELETE", "/api/repos/delete", {"name": "a\x00b", "organization": "alice"}, 404),
    ("POST", "/api/repos/move", {"fromRepo": "alice/a\x00b", "toRepo": "alice/x"}, 404),
    ("POST", "/api/repos/create", {"name": "a\x00b"}, 400),
    ("POST", "/api/repos/create", {"name": "ok", "organization": "a\x00b"}, 403),
    ("POST", "/api/models/alice/repo/tag/main", {"tag": "v1\x00junk"}, 400),
    ("POST", "/api/models/alice/repo/branch/b2", {"startingPoint": "main\x00junk"}, 404),
    ("POST", "/api/hubstead/login", {"username": "alice\x00junk", "password": "x"}, 401),  # audited as it came
]


@pytest.mark.parametrize(
    ("method", "url", "body", "status"), NUL_INPUTS, ids=[f"{m} {u} {b}" for m, u, b, _ in NUL_INPUTS]
)
def test_nul_byte_in_a_name_is_refused_and_changes_nothing(client, user, repo, unchanged, method, url, body, status):
    response = client.request(method, url, json=body, headers=auth(user.token))

    assert response.status_code == status, response.text
    assert response.headers["x-error-message"]
    assert response.headers["x-request-id"]


def test_nul_byte_in_a_path_matches_no_file(client, user, repo):
    response = client.post(
        "/api/models/alice/repo/paths-info/main", json={"paths": ["hello.txt\x00junk"]}, headers=auth(user.token)
    )

    assert response.status_code == 200, response.text
    assert response.json() == []


# --- bodies that are not JSON, or not the JSON expected ------------------------------------------------


JSON_CALLS = [
    ("POST", "/api/repos/create", "application/json"),
    ("DELETE", "/api/repos/delete", "application/json"),
    ("POST", "/api/repos/move", "application/json"),
    ("PUT", f"/api/models/{REPO}/settings", "application/json"),
    ("POST", f"/api/models/{REPO}/preupload/main", "application/json"),
    ("POST", f"/api/models/{REPO}/paths-info/main", "application/json"),
    ("POST", f"/api/models/{REPO}/branch/dev", "application/json"),
    ("POST", f"/api/models/{REPO}/tag/main", "application/json"),
    ("POST", f"/{REPO}.git/info/lfs/objects/batch", "application/vnd.git-lfs+json"),
    ("POST", f"/{REPO}.git/info/lfs/objects/verify", "application/vnd.git-lfs+json"),
    ("POST", "/api/validate-yaml", "application/json"),
]


@pytest.mark.parametrize(("method", "url", "content_type"), JSON_CALLS, ids=[f"{m} {u}" for m, u, _ in JSON_CALLS])
def test_body_that_is_not_json_is_refused_and_changes_nothing(client, user, repo, unchanged, method, url, content_type):
    headers = {"content-type": content_type} | auth(user.token)

    response = client.request(method, url, content=b'{"name": "x", ', headers=headers)

    assert 400 <= response.status_code < 500, response.text
    assert "json" in response.json()["error"].lower()


DEEP_JSON_CALLS = [
    *JSON_CALLS,
    ("POST", f"/api/models/{REPO}/discussions", "application/json"),
    ("POST", "/api/hubstead/tokens", "application/json"),
    ("POST", "/api/hubstead/login", "application/json"),
    ("POST", "/api/hubstead/password", "application/json"),
    ("POST", f"/api/models/{REPO}/ask-access", "application/json"),
    ("PUT", "/api/hubstead/orgs/someorg/members/bob", "application/json"),
    ("POST", f"/api/models/{REPO}/commit/main", "application/x-ndjson"),
]


@pytest.mark.parametrize("depth", [65, 10_000])  # past our bound; past the interpreter's recursion limit
@pytest.mark.parametrize(
    ("method", "url", "content_type"), DEEP_JSON_CALLS, ids=[f"{m} {u}" for m, u, _ in DEEP_JSON_CALLS]
)
def test_deeply_nested_json_is_refused_and_changes_nothing(
    client, user, repo, unchanged, method, url, content_type, depth
):
    nested = b"[" * depth + b"]" * depth
    if content_type == "application/x-ndjson":
        body = ndjson(header_line()) + b'{"key": "file", "value": {"path": "x", "content": ' + nested + b"}}\n"
    else:
        body = b'{"name": ' + nested + b', "paths": [], "operation": "upload", "objects": []}'

    response = client.request(method, url, content=body, headers={"content-type": content_type} | auth(user.token))

    assert response.status_code == 400, response.text
    assert "nested deeper than 64" in response.json()["error"]


def test_json_body_past_its_cap_is_refused_before_it_is_read(client, user):
    body = b'{"name": "x", "pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'

    response = client.post(
        "/api/repos/create", content=body, headers={"content-type": "application/json"} | auth(user.token)
    )

    assert_refused(response, 413, "larger than")


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_constants_are_not_json(client, user, repo, constant):
    body = b'{"oid": "' + LFS_OID.encode() + b'", "size": ' + constant + b"}"

    response = client.post(f"/{repo}.git/info/lfs/objects/verify", content=body, headers=LFS_JSON | auth(user.token))

    assert_refused(response, 400, "not a JSON value")


BATCH_URL = "/alice/repo.git/info/lfs/objects/batch"
WRONG_JSON = [
    ("PUT", "/api/models/alice/repo/settings", {"private": "sometimes"}, 422),
    ("PUT", "/api/models/alice/repo/settings", {"gated": "always"}, 400),
    ("PUT", "/api/models/alice/repo/settings", {"visibility": "secret"}, 400),
    ("POST", "/api/models/alice/repo/preupload/main", {"files": "hello.txt"}, 400),
    ("POST", "/api/models/alice/repo/preupload/main", {"files": [{"size": 3}]}, 400),
    ("POST", "/api/models/alice/repo/tag/main", {"tag": ""}, 422),
    ("POST", "/api/models/alice/repo/tag/main", {"tag": "bad..name"}, 400),
    ("POST", "/api/models/alice/repo/branch/bad..name", None, 400),
    ("POST", "/api/models/alice/repo/paths-info/main", {"paths": [1, 2]}, 400),
    ("POST", BATCH_URL, {"operation": "steal", "objects": []}, 400),
    ("POST", BATCH_URL, {"operation": "upload", "objects": [{"oid": "x", "size": 1}]}, 400),
    ("POST", BATCH_URL, {"operation": "upload", "objects": [{"oid": LFS_OID.upper(), "size": 1}]}, 400),
    ("POST", BATCH_URL, {"operation": "upload", "objects": [{"oid": LFS_OID, "size": -1}]}, 400),
    ("POST", BATCH_URL, {"operation": "upload", "objects": [{"oid": LFS_OID, "size": "12"}]}, 400),
    ("POST", BATCH_URL, ["upload"], 400),
    ("POST", "/alice/repo.git/info/lfs/objects/verify", {"oid": LFS_OID}, 400),
    ("POST", "/api/repos/move", {"fromRepo": "alice/repo", "toRepo": "alice/../x"}, 400),
    ("POST", "/api/repos/move", {"fromRepo": "alice/repo", "toRepo": "alice/repo/extra"}, 400),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "url", "body", "status"), WRONG_JSON, ids=[f"{m} {u} {b}" for m, u, b, _ in WRONG_JSON]
)
def test_json_of_the_wrong_shape_is_refused_and_changes_nothing(
    client, user, repo, unchanged, method, url, body, status
):
    response = client.request(method, url, json=body, headers=auth(user.token))

    assert response.status_code == status, response.text
    assert response.headers["x-error-message"]


def test_well_formed_commit_is_accepted(client, hub, user, repo):
    """Control for the tests above: the same endpoint, body helpers and repo accept good input."""
    before = snapshot(client, hub, repo, user.token)

    response = commit(client, repo, ndjson(header_line(), GOOD), user.token)

    assert response.status_code == 200, response.text
    assert snapshot(client, hub, repo, user.token)["sha"] == response.json()["commitOid"] != before["sha"]


# --- preupload patterns: matched in linear time, bounded in number and length ----------------------------------

ATTACK_GITIGNORE = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n"


@pytest.mark.timeout(120)
def test_preupload_with_a_backtracking_gitignore_answers_and_the_server_stays_responsive(client, user, repo):
    files = [{"path": f"d{i}/" + "a" * 1000, "size": 1, "sample": ""} for i in range(20)]
    files.append({"path": "a" * 1000 + "b", "size": 1, "sample": ""})
    with ThreadPoolExecutor(1) as pool:
        preupload = pool.submit(
            client.post,
            f"/api/models/{repo}/preupload/main",
            json={"files": files, "gitIgnore": ATTACK_GITIGNORE},
            headers=auth(user.token),
        )
        health = client.get("/api/health", timeout=30)
        response = preupload.result()

    assert health.status_code == 200
    assert response.status_code == 200, response.text
    assert [f["shouldIgnore"] for f in response.json()["files"]] == [False] * 20 + [True]


@pytest.mark.parametrize(
    ("gitignore", "fragment"),
    [("*.log\n" * 1001, "at most 1000 patterns"), ("x" * 1025 + "\n", "at most 1024 bytes")],
    ids=["too-many-patterns", "too-long-pattern"],
)
def test_preupload_refuses_too_many_or_too_long_patterns(client, user, repo, gitignore, fragment):
    response = client.post(
        f"/api/models/{repo}/preupload/main",
        json={"files": [{"path": "a.txt", "size": 1, "sample": ""}], "gitIgnore": gitignore},
        headers=auth(user.token),
    )

    assert_refused(response, 400, fragment)


# --- numbers in headers, query strings and URLs ---------------------------------------------------------------

HUGE = "9" * 5000  # int() refuses more than 4300 digits


@pytest.mark.parametrize(
    ("header", "status", "content"),
    [
        (f"bytes={HUGE}-", 416, None),
        (f"bytes=0{HUGE}-{HUGE}", 416, None),
        (f"bytes=0-{HUGE}", 206, SMALL),
        (f"bytes=-{HUGE}", 206, SMALL),
        (f"bytes={'0' * 5000}6-", 206, SMALL[6:]),
        ("bytes=\u0663-", 200, SMALL),  # an Arabic-Indic digit: not a range HTTP knows, so the whole file
    ],
    ids=["huge-start", "huge-both", "huge-end", "huge-suffix", "zero-padded", "unicode-digit"],
)
def test_range_with_thousands_of_digits_is_answered_as_http_says(client, user, repo, header, status, content):
    response = client.get(f"/{repo}/resolve/main/hello.txt", headers={"range": header.encode()})

    assert response.status_code == status, response.text
    if content is not None:
        assert response.content == content
    else:
        assert response.headers["content-range"] == f"bytes */{len(SMALL)}"


NUMBER_INPUTS = [
    ("GET", f"/api/models/{REPO}/commits/main?p={HUGE}"),
    ("GET", f"/api/models/{REPO}/commits/main?limit=\u00b2"),
    ("GET", f"/api/models/{REPO}/discussions?p=\u00b2"),
    ("GET", f"/api/models/{REPO}/discussions/\u00b2"),
    ("GET", f"/api/models?limit={HUGE}"),
    ("GET", "/api/models?limit=\u00b2"),
    ("GET", f"/api/models/{REPO}/user-access-request/pending?cursor=\u00b2"),
    ("DELETE", "/api/hubstead/tokens/\u00b2"),
    ("PUT", f"/api/hubstead/lfs/upload/1/{REPO_UID}/{LFS_OID}/3?expires=\u00b2&sig=x"),
    ("PUT", f"/api/hubstead/lfs/upload/1/{REPO_UID}/{LFS_OID}/3?expires={HUGE}&sig=x"),
]


@pytest.mark.parametrize(("method", "url"), NUMBER_INPUTS, ids=[f"{m} {u[:70]}" for m, u in NUMBER_INPUTS])
def test_numbers_that_int_cannot_read_are_a_client_error(client, user, repo, method, url):
    response = client.request(method, url, content=b"abc", headers=auth(user.token))

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["x-error-message"]


# --- branch and tag names git or a client would misread ---------------------------------------------------------

MISREAD_NAMES = ["-x", "--force", "HEAD", "FETCH_HEAD", "feature/HEAD", "a" * 40, "0123456789abcdef" * 4, "v1\u202e"]


@pytest.mark.parametrize("name", MISREAD_NAMES)
def test_branch_with_a_name_git_would_misread_is_refused(client, user, repo, unchanged, name):
    response = client.post(f"/api/models/{repo}/branch/{quote(name, safe='')}", headers=auth(user.token))

    assert_refused(response, 400, "invalid branch name")


@pytest.mark.parametrize("name", ["-x", "HEAD", "a" * 40])
def test_tag_with_a_name_git_would_misread_is_refused(client, user, repo, unchanged, name):
    response = client.post(f"/api/models/{repo}/tag/main", json={"tag": name}, headers=auth(user.token))

    assert_refused(response, 400, "invalid tag name")


def test_ordinary_branch_names_are_still_accepted(client, user, repo):
    for name in ["dev", "feature/x-1", "HEADS-UP", "release/v1.0", "abc123"]:
        response = client.post(f"/api/models/{repo}/branch/{quote(name, safe='')}", headers=auth(user.token))
        assert response.status_code == 200, (name, response.text)


# --- LFS sizes nothing can store ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [10**30, 2**63, 5 * 1024**4 + 1], ids=["10^30", "2^63", "5TiB+1"])
@pytest.mark.parametrize("transfers", [["basic"], ["basic", "multipart"]], ids=["basic", "multipart"])
def test_lfs_batch_upload_of_an_absurd_size_is_refused(client, user, repo, unchanged, size, transfers):
    response = client.post(
        f"/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": transfers, "objects": [{"oid": PAYLOAD_OID, "size": size}]},
        headers=LFS_JSON | auth(user.token),
    )

    assert_refused(response, 400, "at most")


def test_lfs_batch_answer_has_a_bounded_number_of_part_urls(client, settings, user, repo):
    settings.lfs_multipart_threshold, settings.lfs_multipart_chunk_size = 1, 1024
    body = batch_upload(client, repo, user.token, PAYLOAD_OID, 10**9, ["basic", "multipart"])

    header = body["objects"][0]["actions"]["upload"]["header"]
    assert len(header) - 1 == 10_000  # 10^9 bytes in 1 KiB parts would be a million URLs
    assert int(header["chunk_size"]) == 10**5


# --- likes are writes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_read_token_cannot_like_or_unlike_a_repo(client, user, repo, method):
    response = client.request(method, f"/api/models/{repo}/like", headers=auth(user.read_token))

    assert_refused(response, 403, "read-only token")
    likers = client.get(f"/api/models/{repo}/likers", headers=auth(user.token)).json()
    assert likers == []
