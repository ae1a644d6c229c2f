"""A gated repo on the website, over plain HTTP on every database backend: its card, file list and history are
public, but its file content (a file's page, its raw text, a commit's diff, unmerged pull requests' commits
included) is shown only to those ``resolve`` serves: owners, members and users whose access request was
accepted. Everyone else gets the gate page (401 anonymous, 403 signed in) with the way to ask for access,
which the gate's form does.

The same rules through the API, for the pull requests' diffs and their files, are checked at the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from tests.api._support import API_TYPES, URL_PREFIX, auth
from tests.conftest import User, make_user
from tests.web._support import csrf_token, session_cookie

SECRET = "the secret line 42"
PR_SECRET = "only on an unmerged pull request"
CARD = "---\nlicense: mit\n---\n# A gated card\n\nAnyone may read this card.\n"
NO_GATED_REPOS = {"global": [], "scoped": [], "canReadGatedRepos": False}


@dataclass(frozen=True)
class Gated:
    repo_id: str
    repo_type: str
    seed_sha: str  # adds hello.txt (SECRET)
    outsider_pr_sha: str  # bob's pull request #1 overwrites hello.txt: its diff shows SECRET as removed
    owner_pr_sha: str  # alice's pull request #2 adds pr-only.txt (PR_SECRET)

    @property
    def web(self) -> str:
        return f"/{URL_PREFIX[self.repo_type]}{self.repo_id}"

    @property
    def api(self) -> str:
        return f"/api/{API_TYPES[self.repo_type]}/{self.repo_id}"


def make_gated(live_server: str, owner: User, outsider: User, repo_type: str, gate: str = "manual") -> Gated:
    repo_id = f"{owner.name}/gated"
    api = HfApi(endpoint=live_server, token=owner.token)
    api.create_repo(repo_id, repo_type=repo_type)
    files = {"README.md": CARD.encode(), "hello.txt": f"{SECRET}\n".encode(), "folder/nested.txt": b"nested\n"}
    ops = [CommitOperationAdd(path, data) for path, data in files.items()]
    seed_sha = api.create_commit(repo_id, ops, commit_message="seed", repo_type=repo_type).oid
    settings = httpx.put(
        f"{live_server}/api/{API_TYPES[repo_type]}/{repo_id}/settings", json={"gated": gate}, headers=auth(owner.token)
    )
    assert settings.status_code == 200, settings.text
    # an outsider may open a pull request on a gated repo (reading its metadata is enough)
    outsider_pr = HfApi(endpoint=live_server, token=outsider.token).create_commit(
        repo_id, [CommitOperationAdd("hello.txt", b"bob was here\n")], commit_message="rewrite",
        repo_type=repo_type, create_pr=True,
    )  # fmt: skip
    owner_pr = api.create_commit(
        repo_id, [CommitOperationAdd("pr-only.txt", f"{PR_SECRET}\n".encode())], commit_message="draft",
        repo_type=repo_type, create_pr=True,
    )  # fmt: skip
    assert (outsider_pr.pr_num, owner_pr.pr_num) == (1, 2)
    return Gated(repo_id, repo_type, seed_sha, outsider_pr.oid, owner_pr.oid)


def grant(live_server: str, gated: Gated, owner: User, username: str) -> None:
    granted = httpx.post(
        f"{live_server}{gated.api}/user-access-request/grant", json={"user": username}, headers=auth(owner.token)
    )
    assert granted.status_code == 200, granted.text


def fine_grained_token(hub: Any, username: str) -> str:
    """A fine-grained token of ``username`` that may not read gated repos (``canReadGatedRepos`` false)."""
    with hub.sessions.begin() as session:
        accounts = AccountService(session)
        return accounts.create_token(accounts.get_user(username), "fg", TokenRole.FINE_GRAINED, NO_GATED_REPOS)[1]


@pytest.fixture(params=["model", "dataset"])
def gated(request: pytest.FixtureRequest, live_server: str, user: User, other_user: User, hub: Any) -> Gated:
    made = make_gated(live_server, user, other_user, request.param)
    make_user(hub, "gina")
    grant(live_server, made, user, "gina")
    return made


@pytest.fixture
def clients(live_server: str, hub: Any, user: User, other_user: User, gated: Gated) -> Any:
    """Page visitors: a session cookie (as the website signs in), or a token in the Authorization header, which
    pages do not take (a token is for the API and git): they see the pages as an anonymous visitor."""
    sessions = {
        "signed in without a grant": other_user.name,
        "signed in with a grant": "gina",
        "owner": user.name,
    }
    tokens = {
        "read token without a grant": other_user.read_token,
        "fine-grained token without canReadGatedRepos": fine_grained_token(hub, "gina"),
    }
    opened = {}
    for who in ("anonymous", *tokens, *sessions):
        headers = {"accept": "text/html"} | auth(tokens.get(who))
        opened[who] = httpx.Client(base_url=live_server, headers=headers, timeout=30)
        if who in sessions:
            opened[who].cookies.set("hubstead_session", session_cookie(hub, sessions[who]))
    yield opened
    for client in opened.values():
        client.close()


def content_pages(gated: Gated) -> dict[str, tuple[str, str]]:
    """Pages that show file content: (url, a line of content the page shows to those who may see it)."""
    w, pr = gated.web, "refs%2Fpr%2F2"
    return {
        "file page": (f"{w}/blob/main/hello.txt", SECRET),
        "raw file": (f"{w}/raw/main/hello.txt", SECRET),
        "commit diff": (f"{w}/commit/{gated.seed_sha}", SECRET),
        "commit of an outsider's unmerged pull request": (f"{w}/commit/{gated.outsider_pr_sha}", SECRET),
        "commit of an unmerged pull request": (f"{w}/commit/{gated.owner_pr_sha}", PR_SECRET),
        "file page on a pull request": (f"{w}/blob/{pr}/pr-only.txt", PR_SECRET),
        "raw file on a pull request": (f"{w}/raw/{pr}/pr-only.txt", PR_SECRET),
        "README raw (resolve gates it too)": (f"{w}/raw/main/README.md", "Anyone may read"),
    }


REFUSED = {
    "anonymous": 401,
    "read token without a grant": 401,
    "fine-grained token without canReadGatedRepos": 401,
    "signed in without a grant": 403,
}


def test_file_content_of_a_gated_repo_needs_a_grant(clients: dict[str, httpx.Client], gated: Gated) -> None:
    problems = []
    for who, client in clients.items():
        for label, (url, line) in content_pages(gated).items():
            response = client.get(url)
            if who not in REFUSED:  # those given access, and the owner
                if response.status_code != 200 or line not in response.text:
                    problems.append(f"{who}, {label}: {response.status_code}, the content is not shown")
                continue
            if response.status_code != REFUSED[who] or response.headers.get("x-error-code") != "GatedRepo":
                problems.append(f"{who}, {label}: {response.status_code} {response.headers.get('x-error-code')}")
            if line in response.text:
                problems.append(f"{who}, {label}: shows the file's content")
            if 'data-gate="closed"' not in response.text:
                problems.append(f"{who}, {label}: not the gate page")
    assert problems == []


def test_the_gate_says_how_to_get_access(clients: dict[str, httpx.Client], gated: Gated) -> None:
    url = f"{gated.web}/blob/main/hello.txt"
    anonymous = clients["anonymous"].get(url).text
    assert "Log in to request access" in anonymous
    assert f'href="/login?next={url}"' in anonymous
    signed_in = clients["signed in without a grant"].get(url).text
    assert f'action="{gated.web}/ask-access"' in signed_in
    assert "Request access" in signed_in


def test_the_editor_shows_a_gated_file_to_writers_only(clients: dict[str, httpx.Client], gated: Gated) -> None:
    for who, client in clients.items():
        response = client.get(f"{gated.web}/edit/main/hello.txt")
        if who == "owner":
            assert (response.status_code, SECRET in response.text) == (200, True)
            continue
        assert response.status_code == (401 if REFUSED.get(who) == 401 else 403), who
        assert SECRET not in response.text, who


def test_metadata_pages_stay_public(clients: dict[str, httpx.Client], gated: Gated) -> None:
    for who, client in clients.items():
        card = client.get(gated.web)
        assert card.status_code == 200, who
        assert "Anyone may read this card." in card.text, who  # the card is public, as on huggingface.co
        assert ('data-gate="closed"' in card.text) == (who in REFUSED), who  # with the gate above it
        tree = client.get(f"{gated.web}/tree/main")
        assert (tree.status_code, "hello.txt" in tree.text, SECRET in tree.text) == (200, True, False), who
        pr_tree = client.get(f"{gated.web}/tree/refs%2Fpr%2F2")
        assert (pr_tree.status_code, "pr-only.txt" in pr_tree.text) == (200, True), who
        history = client.get(f"{gated.web}/commits/main")
        assert (history.status_code, gated.seed_sha in history.text) == (200, True), who


def _ask(client: httpx.Client, gated: Gated, next_url: str, **fields: str) -> httpx.Response:
    token = csrf_token(client, gated.web)
    data = {"csrf_token": token, "next": next_url} | {f"gate.{k}": v for k, v in fields.items()}
    return client.post(f"{gated.web}/ask-access", data=data)


def test_asking_for_access_from_the_gate(
    clients: dict[str, httpx.Client], live_server: str, user: User, gated: Gated
) -> None:
    bob, url = clients["signed in without a grant"], f"{gated.web}/blob/main/hello.txt"

    asked = _ask(bob, gated, url)
    assert asked.status_code == 303, asked.text
    assert (asked.status_code, asked.headers["location"]) == (303, url)
    pending = bob.get(url)
    assert (pending.status_code, 'data-gate="pending"' in pending.text, SECRET in pending.text) == (403, True, False)
    listed = httpx.get(f"{live_server}{gated.api}/user-access-request/pending", headers=auth(user.token))
    assert [r["user"]["user"] for r in listed.json()] == ["bob"]
    handled = httpx.post(
        f"{live_server}{gated.api}/user-access-request/handle",
        json={"user": "bob", "status": "accepted"},
        headers=auth(user.token),
    )
    assert handled.status_code == 200, handled.text

    opened = bob.get(url)
    assert (opened.status_code, SECRET in opened.text) == (200, True)
    assert 'data-gate="open"' in bob.get(gated.web).text


def test_asking_needs_a_signed_in_visitor_and_a_gated_repo(
    clients: dict[str, httpx.Client], live_server: str, user: User, gated: Gated
) -> None:
    assert _ask(clients["anonymous"], gated, gated.web).status_code == 401
    assert _ask(clients["read token without a grant"], gated, gated.web).status_code == 401
    HfApi(endpoint=live_server, token=user.token).create_repo("alice/open")
    bob = clients["signed in without a grant"]
    token = csrf_token(bob, "/alice/open")
    assert bob.post("/alice/open/ask-access", data={"csrf_token": token}).status_code == 400
    assert bob.post(f"{gated.web}/ask-access", data={}).status_code == 403  # no CSRF token


@pytest.mark.parametrize("gated", ["model"], indirect=True)
def test_an_auto_gate_opens_at_once_and_never_redirects_away(
    clients: dict[str, httpx.Client], live_server: str, user: User, gated: Gated
) -> None:
    changed = httpx.put(f"{live_server}{gated.api}/settings", json={"gated": "auto"}, headers=auth(user.token))
    assert changed.status_code == 200
    bob = clients["signed in without a grant"]

    asked = _ask(bob, gated, "//evil.example/x")
    assert asked.headers["location"] == "/"  # only a page of this site
    assert SECRET in bob.get(f"{gated.web}/raw/main/hello.txt").text


GATE_CARD = """---
license: mit
extra_gated_prompt: Tell us who you are.
extra_gated_fields:
  Company: text
  Country: country
  Purpose:
    type: select
    options: [Research, Education]
  I agree to use it for good: checkbox
---
# Gated with a form
"""


@pytest.mark.parametrize("gated", ["model"], indirect=True)
def test_the_gate_asks_the_fields_of_the_card(
    clients: dict[str, httpx.Client], live_server: str, user: User, gated: Gated
) -> None:
    HfApi(endpoint=live_server, token=user.token).upload_file(
        path_or_fileobj=GATE_CARD.encode(), path_in_repo="README.md", repo_id=gated.repo_id
    )
    bob = clients["signed in without a grant"]
    page = bob.get(gated.web).text
    assert "Tell us who you are." in page
    for name in ("gate.Company", "gate.Country", "gate.Purpose", "gate.I agree to use it for good"):
        assert f'name="{name}"' in page

    assert _ask(bob, gated, gated.web, Company="Acme").status_code == 400  # every field is required
    assert _ask(bob, gated, gated.web, **_fields(Purpose="Espionage")).status_code == 400  # not an option
    assert _ask(bob, gated, gated.web, **_fields()).status_code == 303

    listed = httpx.get(f"{live_server}{gated.api}/user-access-request/pending", headers=auth(user.token)).json()
    assert listed[0]["fields"] == _fields()


def _fields(**changes: str) -> dict[str, str]:
    base = {"Company": "Acme", "Country": "France", "Purpose": "Research", "I agree to use it for good": "yes"}
    return base | changes


# --- the same rules through the API ------------------------------------------------------------------------


def test_pull_request_diffs_and_files_need_a_grant_through_the_api(
    live_server: str, hub: Any, user: User, other_user: User, gated: Gated
) -> None:
    gina = make_user_tokens(hub, "gina")
    callers = {
        "anonymous": (None, False),
        "outsider (write token, the first pull request's author)": (other_user.token, False),
        "outsider's read token": (other_user.read_token, False),
        "granted user's fine-grained token without canReadGatedRepos": (fine_grained_token(hub, "gina"), False),
        "granted user": (gina, True),
        "owner": (user.token, True),
    }
    with httpx.Client(base_url=live_server, timeout=30) as client:
        for who, (token, allowed) in callers.items():
            for num, line in ((1, SECRET), (2, PR_SECRET)):
                details = client.get(f"{gated.api}/discussions/{num}", params={"diff": "1"}, headers=auth(token))
                assert details.status_code == 200, (who, details.text)  # the discussion itself is metadata
                assert ("diff" in details.json()) == allowed, who
                assert (line in details.text) == allowed, who
            raw = client.get(f"{gated.web}/resolve/refs%2Fpr%2F2/pr-only.txt", headers=auth(token))
            assert raw.status_code == (200 if allowed else 401 if token is None else 403), who
            assert (PR_SECRET in raw.text) == allowed, who


def make_user_tokens(hub: Any, username: str) -> str:
    """A write token of an existing user."""
    with hub.sessions.begin() as session:
        accounts = AccountService(session)
        return accounts.create_token(accounts.get_user(username), "write", TokenRole.WRITE)[1]
