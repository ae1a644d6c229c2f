"""Every error the API produces has one shape (status from the mapper, ``X-Error-Code`` where huggingface.co
has a wire code, a one-line ASCII ``X-Error-Message``, a ``{"error": message}`` body, ``X-Request-Id``), and
huggingface_hub's own ``hf_raise_for_status`` turns it into the client exception users expect.

huggingface_hub 2.x speaks HTTP through ``httpx2`` and only recognises ``httpx2`` responses (it catches
``httpx2.HTTPStatusError``), so the responses fed to it here come from an ``httpx2.Client``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from huggingface_hub.errors import (
    BadRequestError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import hf_raise_for_status

from hubstead import errors
from hubstead.api.errors import status_for
from tests.api._support import auth, file_line, header_line, ndjson, seed_repo

NDJSON = {"content-type": "application/x-ndjson"}


@dataclass(frozen=True)
class ErrorCase:
    id: str
    method: str
    url: str
    status: int
    code: str | None
    client_error: type[Exception]
    who: str | None = "alice"  # alice | alice-read | bob | bad-token | None (anonymous)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_contains: str = ""


def _commit(id: str, body: bytes, status: int, code: str | None, client_error: type[Exception], **kw: Any) -> ErrorCase:
    url = kw.pop("url", "/api/models/alice/public/commit/main")
    return ErrorCase(id, "POST", url, status, code, client_error, content=body, headers=NDJSON, **kw)


ADD = file_line("new.txt")
CASES = [
    # repo not found, and private repos that look exactly like it
    ErrorCase("repo-missing", "GET", "/api/models/alice/missing", 404, "RepoNotFound", RepositoryNotFoundError),
    ErrorCase(
        "private-repo-anonymous", "GET", "/api/models/alice/secret", 404, "RepoNotFound", RepositoryNotFoundError,
        who=None,
    ),
    ErrorCase(
        "private-repo-other-user", "GET", "/api/models/alice/secret", 404, "RepoNotFound", RepositoryNotFoundError,
        who="bob",
    ),
    ErrorCase(
        "private-resolve-head-other-user", "HEAD", "/alice/secret/resolve/main/x.txt", 404, "RepoNotFound",
        RepositoryNotFoundError, who="bob",
    ),
    _commit("commit-to-missing-repo", ndjson(header_line(), ADD), 404, "RepoNotFound", RepositoryNotFoundError,
            url="/api/models/alice/missing/commit/main"),
    # revisions
    ErrorCase(
        "revision-missing", "GET", "/api/models/alice/public/revision/nope", 404, "RevisionNotFound",
        RevisionNotFoundError, message_contains="nope",
    ),
    ErrorCase(
        "resolve-revision-missing", "GET", "/alice/public/resolve/nope/hello.txt", 404, "RevisionNotFound",
        RevisionNotFoundError,
    ),
    ErrorCase(
        "tree-revision-missing", "GET", "/api/models/alice/public/tree/nope", 404, "RevisionNotFound",
        RevisionNotFoundError,
    ),
    _commit("commit-to-missing-branch", ndjson(header_line(), ADD), 404, "RevisionNotFound", RevisionNotFoundError,
            url="/api/models/alice/public/commit/nope"),
    # entries
    ErrorCase(
        "resolve-entry-missing", "GET", "/alice/public/resolve/main/missing.txt", 404, "EntryNotFound",
        RemoteEntryNotFoundError,
    ),
    ErrorCase(
        "resolve-entry-missing-head", "HEAD", "/alice/public/resolve/main/missing.txt", 404, "EntryNotFound",
        RemoteEntryNotFoundError,
    ),
    ErrorCase(
        "tree-entry-missing", "GET", "/api/models/alice/public/tree/main/nope", 404, "EntryNotFound",
        RemoteEntryNotFoundError,
    ),
    _commit("delete-missing-file", ndjson(header_line(), {"key": "deletedFile", "value": {"path": "nope.txt"}}),
            404, "EntryNotFound", RemoteEntryNotFoundError, message_contains="A file with this name doesn't exist"),
    # gated repos: the files need an accepted access request (metadata stays readable)
    ErrorCase(
        "gated-file-anonymous", "HEAD", "/alice/gated/resolve/main/.gitattributes", 401, "GatedRepo", GatedRepoError,
        who=None, message_contains="Access to model alice/gated is restricted",
    ),
    ErrorCase(
        "gated-file-not-granted", "GET", "/alice/gated/resolve/main/.gitattributes", 403, "GatedRepo",
        GatedRepoError, who="bob", message_contains="you are not in the authorized list. Visit http",
    ),
    # permissions
    _commit("write-by-other-user", ndjson(header_line(), ADD), 403, None, HfHubHTTPError, who="bob"),
    _commit("write-with-read-token", ndjson(header_line(), ADD), 403, None, HfHubHTTPError, who="alice-read"),
    _commit("write-anonymously", ndjson(header_line(), ADD), 401, None, HfHubHTTPError, who=None),
    ErrorCase(
        "create-in-foreign-namespace", "POST", "/api/repos/create", 403, None, HfHubHTTPError, who="bob",
        json={"name": "mine", "organization": "alice"},
    ),
    ErrorCase("delete-default-branch", "DELETE", "/api/models/alice/public/branch/main", 403, None, HfHubHTTPError),
    ErrorCase(
        "invalid-token", "GET", "/api/models/alice/public", 401, None, HfHubHTTPError, who="bad-token",
        message_contains="Invalid credentials in Authorization header",
    ),
    # conflicts and preconditions
    _commit("stale-parent-commit", ndjson(header_line(parentCommit="{first_commit}"), ADD), 412, None, HfHubHTTPError,
            message_contains="The branch was updated since you opened this page"),
    ErrorCase(
        "repo-exists", "POST", "/api/repos/create", 409, None, HfHubHTTPError, json={"name": "public"},
    ),
    ErrorCase("branch-exists", "POST", "/api/models/alice/public/branch/keep", 409, None, HfHubHTTPError),
    # invalid input
    ErrorCase(
        "invalid-expand", "GET", "/api/models/alice/public?expand=bogus", 400, None, BadRequestError,
        message_contains="bogus",
    ),
    ErrorCase(
        "invalid-repo-name", "POST", "/api/repos/create", 400, None, BadRequestError, json={"name": "a..b"},
    ),
    _commit("commit-to-a-tag", ndjson(header_line(), ADD), 400, None, BadRequestError,
            url="/api/models/alice/public/commit/v0"),
    _commit("malformed-ndjson", b"{not json\n", 400, None, BadRequestError),
    ErrorCase(
        "missing-body-field", "POST", "/api/repos/create", 422, None, HfHubHTTPError, json={"private": True},
        message_contains="name",
    ),
    _commit("path-traversal", ndjson(header_line(), file_line("../x")), 422, None, HfHubHTTPError),
    _commit("unknown-lfs-object", ndjson(header_line(), {"key": "lfsFile", "value": {
        "path": "big.bin", "algo": "sha256", "oid": "0" * 64, "size": 3}}), 422, None, HfHubHTTPError),
    # ranges
    ErrorCase(
        "range-past-end", "GET", "/alice/public/resolve/main/hello.txt", 416, None, HfHubHTTPError,
        headers={"range": "bytes=100-"},
    ),
    ErrorCase(
        "range-past-end-lfs", "GET", "/alice/public/resolve/main/weights.bin", 416, None, HfHubHTTPError,
        headers={"range": "bytes=100000-"},
    ),
    # no such route
    ErrorCase("unknown-route", "GET", "/api/no-such-endpoint", 404, None, HfHubHTTPError),
    ErrorCase("unknown-repo-subroute", "GET", "/api/models/alice/public/no-such-thing", 404, None, HfHubHTTPError),
    ErrorCase("method-not-allowed", "DELETE", "/api/whoami-v2", 405, None, HfHubHTTPError),
]  # fmt: skip


@dataclass(frozen=True)
class World:
    tokens: dict[str | None, str | None]
    first_commit: str


@pytest.fixture
def world(live_server, user, other_user) -> World:
    seed_repo(live_server, user.token, "alice/public")
    with httpx2.Client(base_url=live_server) as client:
        secret = client.post("/api/repos/create", json={"name": "secret", "private": True}, headers=auth(user.token))
        assert secret.status_code == 200, secret.text
        gated = client.post("/api/repos/create", json={"name": "gated"}, headers=auth(user.token))
        assert gated.status_code == 200, gated.text
        gating = client.put("/api/models/alice/gated/settings", json={"gated": "manual"}, headers=auth(user.token))
        assert gating.status_code == 200, gating.text
        commits = client.get("/api/models/alice/public/commits/main", headers=auth(user.token)).json()
    tokens = {
        None: None,
        "alice": user.token,
        "alice-read": user.read_token,
        "bob": other_user.token,
        "bad-token": "hf_not_a_real_token",
    }
    return World(tokens=tokens, first_commit=commits[-1]["id"])


@pytest.fixture
def client(live_server):
    with httpx2.Client(base_url=live_server, timeout=30) as c:
        yield c


def _request(client: httpx2.Client, world: World, case: ErrorCase) -> httpx2.Response:
    # a stale parent must be a real commit that is no longer the tip: the repo's first one
    content = case.content and case.content.replace(b"{first_commit}", world.first_commit.encode())
    headers = case.headers | auth(world.tokens[case.who])
    return client.request(case.method, case.url, headers=headers, json=case.json, content=content)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_error_has_the_one_shape_and_the_client_raises_the_matching_exception(client, world, case):
    response = _request(client, world, case)

    assert response.status_code == case.status, response.text
    assert response.headers.get("x-error-code") == case.code
    message = response.headers["x-error-message"]
    assert message.strip()
    assert all(" " <= c <= "~" for c in message), "one line of printable ASCII"
    assert case.message_contains in message
    assert response.headers["x-request-id"]
    if case.method != "HEAD":
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["error"] == message
        assert set(body) <= {"error", "url"}

    with pytest.raises(HfHubHTTPError) as raised:
        hf_raise_for_status(response)

    assert type(raised.value) is case.client_error
    # transformers and datasets catch the generic EntryNotFoundError
    assert isinstance(raised.value, EntryNotFoundError) == (case.code == "EntryNotFound")
    assert raised.value.response.status_code == case.status
    assert raised.value.request_id == response.headers["x-request-id"]
    assert raised.value.server_message == message
    assert message.lower() in str(raised.value).lower()


def test_existing_repo_error_gives_the_repo_url(client, world, live_server):
    response = client.post("/api/repos/create", json={"name": "public"}, headers=auth(world.tokens["alice"]))

    assert response.status_code == 409
    assert response.json()["url"] == f"{live_server}/alice/public"


def test_entry_not_found_on_resolve_names_the_commit(client, world):
    sha = client.get("/api/models/alice/public", headers=auth(world.tokens["alice"])).json()["sha"]

    response = client.head("/alice/public/resolve/main/missing.txt", headers=auth(world.tokens["alice"]))

    assert response.headers["x-repo-commit"] == sha


@pytest.mark.parametrize("url", ["/alice/public/resolve/main/hello.txt", "/alice/public/resolve/main/weights.bin"])
def test_unsatisfiable_range_names_the_size(client, world, url):
    size = int(client.head(url).headers["content-length"])

    response = client.get(url, headers={"range": f"bytes={size}-"})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"


def test_method_not_allowed_lists_the_allowed_methods(client, live_server):
    response = client.delete("/api/whoami-v2")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("method", "url", "json", "original"),
    [
        ("POST", "/api/repos/create", {"name": "modèle\nbis"}, "modèle\\nbis"),
        ("GET", "/api/models/alice/public/revision/r%C3%A9v", None, "rév"),
        ("GET", "/api/models/alice/public/revision/a%01b", None, "a\x01b"),
        ("GET", "/api/models/alice/public/revision/a%7Fb", None, "a\x7fb"),
        ("POST", "/api/models/alice/public/branch/dev", {"startingPoint": "a\t\r\nb"}, "a\t\r\nb"),
    ],
    ids=["unicode-and-newline", "unicode", "control-character", "delete-character", "whitespace"],
)
def test_message_header_is_one_printable_ascii_line_even_when_the_message_is_not(
    client, world, method, url, json, original
):
    response = client.request(method, url, json=json, headers=auth(world.tokens["alice"]))

    assert response.status_code in (400, 404)
    header = response.headers["x-error-message"]
    assert all(" " <= c <= "~" for c in header), header
    assert original in response.json()["error"]  # the body keeps the exact text


# --- request ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/api/health"), ("GET", "/api/models/alice/public"), ("HEAD", "/alice/public/resolve/main/hello.txt")],
)
def test_successful_responses_carry_a_fresh_request_id(client, world, method, url):
    first, second = client.request(method, url), client.request(method, url)

    assert first.status_code == second.status_code == 200
    assert first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("header", ["X-Request-Id", "X-Amzn-Trace-Id"])
@pytest.mark.parametrize("url", ["/api/health", "/api/models/alice/missing"])
def test_incoming_request_id_is_echoed(client, live_server, header, url):
    trace = "Root=1-67891233-abcdef012345678912345678"

    response = client.get(url, headers={header: trace})

    assert response.headers["x-request-id"] == trace


@pytest.mark.parametrize("value", ["has spaces in it", "x" * 201, "new\\nline"])
def test_unusable_incoming_request_id_is_replaced(client, live_server, value):
    response = client.get("/api/health", headers={"x-request-id": value})

    assert response.headers["x-request-id"]
    assert response.headers["x-request-id"] != value


# --- the mapper and unexpected errors ------------------------------------------------------------------


def _all_subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_all_subclasses(direct))]


# the inference API's answers that are the server's, as on huggingface.co: a model loading (503 + estimated_time),
# no worker to run it, a call that took too long
SERVER_SIDE = {
    errors.InferenceError: 503,
    errors.ModelLoadingError: 503,
    errors.InferenceUnavailableError: 503,
    errors.InferenceTimeoutError: 504,
}


@pytest.mark.parametrize("error_class", _all_subclasses(errors.HubsteadError), ids=lambda c: c.__name__)
def test_every_hubstead_error_maps_to_a_client_error_status(error_class):
    status = status_for(error_class.__new__(error_class))
    if error_class in SERVER_SIDE:
        assert status == SERVER_SIDE[error_class]
    else:
        assert 400 <= status < 500


SECRET = "password=hunter2 at /srv/hubstead/secret.key"


@pytest.fixture
def failing_server(app, live_server):
    """The live app plus one test-only route that fails the way a bug would."""

    def explode() -> None:
        raise RuntimeError(SECRET)

    app.add_api_route("/api/hubstead/test-only/explode", explode, methods=["GET"])
    return live_server


def test_unexpected_error_is_a_500_with_the_request_id_and_no_internals(failing_server, caplog):
    caplog.set_level(logging.ERROR, logger="hubstead.api")
    with httpx2.Client(base_url=failing_server) as client:
        response = client.get("/api/hubstead/test-only/explode", headers={"x-request-id": "trace-500"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-500"
    assert response.headers["x-error-message"] == "Internal server error"
    assert response.json() == {"error": "Internal server error (request id trace-500)"}
    assert "hunter2" not in response.text
    assert all("hunter2" not in value for value in response.headers.values())
    # ...but the log has what an operator needs
    logged = [r for r in caplog.records if "trace-500" in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None
    assert SECRET in str(logged[0].exc_info[1])
    with pytest.raises(HfHubHTTPError) as raised:
        hf_raise_for_status(response)
    assert raised.value.request_id == "trace-500"


def test_unexpected_error_without_incoming_id_gets_a_generated_one(failing_server):
    with httpx2.Client(base_url=failing_server) as client:
        response = client.get("/api/hubstead/test-only/explode")

    assert response.status_code == 500
    assert response.headers["x-request-id"]
    assert response.headers["x-request-id"] in response.json()["error"]
