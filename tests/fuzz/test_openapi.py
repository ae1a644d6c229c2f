"""Property-based fuzzing of the HTTP API from its own OpenAPI schema (schemathesis): every operation the schema
lists, against a live hub holding a user, a token and a few repos, with valid and invalid inputs. No answer may be
a server error: a 500 on bad input is a bug.

Derandomized (the same examples every run) and bounded per operation, so that it stays a CI test. Path parameters
name the seeded repos, revisions, files and discussions most of the time, so that requests reach past "not found"."""

from __future__ import annotations

from typing import Any

import httpx
import hypothesis.strategies as st
import pytest
import schemathesis
from huggingface_hub import HfApi
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from hubstead.accounts.services import AccountService
from hubstead.inference.client import WorkerClient
from tests.api._support import auth, seed_repo
from tests.conftest import User, make_org, make_user

# the commit endpoint's NDJSON body goes out as the text it is (schemathesis knows no NDJSON serializer)
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

EXAMPLES_PER_OPERATION = 20  # each of valid and invalid inputs: about 2 min a backend on 2 shared cores
REPOS = [("alice", "repo"), ("alice", "secret"), ("bob", "public")]
SEEDED = {
    "repo_type": ["models"],
    "revision": ["main", "keep", "v0", "refs%2Fpr%2F1"],
    "path": ["hello.txt", "folder", "folder/nested.txt", "weights.bin"],
    "num": ["1"],
    "comment_id": ["1"],
    "username": ["alice", "bob"],
    "org": ["team"],
    "user": ["bob"],
    "status": ["pending", "accepted", "rejected"],
}


def _seeded(parameters: Any, pick: tuple[tuple[str, str], dict[str, str]] | None) -> Any:
    if pick is None or not isinstance(parameters, dict):
        return parameters
    (namespace, name), others = pick
    out = dict(parameters)
    if "namespace" in out and "name" in out:
        out["namespace"], out["name"] = namespace, name
    out.update({k: v for k, v in others.items() if k in out})
    return out


def _picks() -> st.SearchStrategy[tuple[tuple[str, str], dict[str, str]] | None]:
    others = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in SEEDED.items()})
    return st.one_of(st.none(), st.tuples(st.sampled_from(REPOS), others), st.tuples(st.sampled_from(REPOS), others))


@pytest.fixture
def world(live_server: str, hub: Any, user: User) -> User:
    """alice (a site admin, so the admin routes are reached too) with a public and a private repo, each with files,
    a branch, a tag and a pull request; bob with a public repo; an org. Inference calls reach a fake worker: what
    is fuzzed is the hub's side of them (rights, bounds, the model named in a body)."""
    fake_worker = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    hub.inference_client = WorkerClient("http://worker", None, 10, transport=fake_worker)
    bob = make_user(hub, "bob")
    with hub.sessions.begin() as session:
        AccountService(session).get_user("alice").is_admin = True
    make_org(hub, "team", {"alice": "admin", "bob": "read"})
    seed_repo(live_server, user.token, "alice/repo")
    seed_repo(live_server, user.token, "alice/secret", private=True)
    seed_repo(live_server, bob.token, "bob/public")
    HfApi(endpoint=live_server, token=bob.token).create_discussion("alice/repo", "a question", pull_request=True)
    return user


def _schema(live_server: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{live_server}/api/hubstead/openapi.json")

    @schema.hook
    def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.tuples(strategy, _picks()).map(lambda pair: _seeded(*pair))

    return schema


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _fuzz(operation: Any, live_server: str, token: str, answered: set[int]) -> str | None:
    """Fuzz one operation; what went wrong (a server error, with a curl line to reproduce it), or None."""

    @FUZZ_SETTINGS
    @given(case=st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode)))
    def fuzz(case: Any) -> None:
        response = case.call(base_url=live_server, headers=auth(token), timeout=60)
        answered.add(response.status_code // 100)
        expected = response.status_code == 501 and "/info/lfs/locks" in case.path  # "no locking", for git-lfs
        assert response.status_code < 500 or expected, (
            f"{response.status_code} {response.text[:300]}\n{case.as_curl_command()}"
        )

    try:
        fuzz()
    except (AssertionError, BaseExceptionGroup) as exc:  # reported with the others, not alone
        return str(exc)[:1500]
    return None


@pytest.mark.timeout(900)
def test_no_operation_answers_with_a_server_error(live_server: str, world: User) -> None:
    """One hypothesis run per operation; every failing operation is listed, not just the first."""
    operations = [result.ok() for result in _schema(live_server).get_all_operations()]
    assert len(operations) > 90  # the whole API, not a schema that failed to load
    answered: dict[str, set[int]] = {operation.label: set() for operation in operations}  # 2 for 2xx, ...

    failures = {
        operation.label: failure
        for operation in operations
        if (failure := _fuzz(operation, live_server, world.token, answered[operation.label])) is not None
    }

    assert failures == {}
    # the seeded repos, revisions and files are reached: not a run of 404s that proves nothing
    assert sum(2 in statuses for statuses in answered.values()) >= 40, answered
