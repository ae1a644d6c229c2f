"""The website's pages over plain HTTP, on every database backend: a private repo is a 404 page exactly like
a missing one for anyone who may not read it; a gated repo's file content needs a grant (the gate page
otherwise), its card, file list and history do not; changes need write access and a CSRF token; sign-up can be
switched off; API clients keep the API's error shape.

Like tests/api/test_privacy.py, the table of pages is checked against ``app.routes``: a new page fails
``test_every_web_route_is_classified`` until it is added to ``PAGES`` with what it needs (``need``: whether it
shows file content decides its gated behaviour), and ``test_pages_answer_every_caller_as_the_matrix_says`` then
walks it for every visitor on a public, a private and a gated repo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from tests.api._support import API_TYPES, SMALL, URL_PREFIX, auth, seed_repo, snapshot
from tests.conftest import User, make_user
from tests.web._support import csrf_token, session_cookie


@dataclass(frozen=True)
class Page:
    """One page or form of a repo; ``url`` is a template over ``web`` (``/ns/name`` or ``/datasets/ns/name``),
    ``data`` over ``visibility`` (the repo's own, so that a settings form that succeeds changes nothing)."""

    route: str
    method: str
    url: str
    # what it needs, and so how it answers each visitor (see expected_page):
    # read: metadata (the card, the file list, the history), readable by whoever may read the repo;
    # files: file content, which a gated repo shows only to those resolve serves; account: a signed-in reader;
    # ask: a signed-in reader, on a gated repo; write: write access (writers are members: no gate applies)
    need: str
    data: dict[str, str] = field(default_factory=dict)
    files: bool = False  # a multipart upload


PAGES = [
    Page("show_repo", "GET", "{web}", "read"),
    Page("show_tree_root", "GET", "{web}/tree/main", "read"),
    Page("show_tree", "GET", "{web}/tree/main/folder", "read"),
    Page("show_file", "GET", "{web}/blob/main/hello.txt", "files"),
    Page("show_raw_file", "GET", "{web}/raw/main/hello.txt", "files"),
    Page("list_commits_page", "GET", "{web}/commits/main", "read"),
    Page("show_commit", "GET", "{web}/commit/main", "files"),
    Page("toggle_like", "POST", "{web}/like", "account", {"like": "1"}),
    Page("ask_access_page", "POST", "{web}/ask-access", "ask"),
    Page("show_upload", "GET", "{web}/upload/main", "write"),
    Page("upload_files", "POST", "{web}/upload/main", "write", {"summary": "upload"}, files=True),
    Page("show_edit", "GET", "{web}/edit/main/README.md", "write"),
    Page("save_edit", "POST", "{web}/edit/main/hello.txt", "write", {"content": "changed\n"}),
    Page("show_settings", "GET", "{web}/settings", "write"),
    Page(
        "update_settings_page",
        "POST",
        "{web}/settings",
        "write",
        {"action": "visibility", "visibility": "{visibility}"},
    ),
]
NEEDS = {"read", "files", "account", "ask", "write"}
WRITES = [p for p in PAGES if p.need == "write" and p.method == "POST"]

# pages that address no repo by namespace/name, and where they are tested
NOT_REPO_PAGES = {
    "get_static_file": "the site's own CSS and JavaScript",
    "get_favicon": "the site's icon",
    "show_home": "listings: test_private_repos_are_not_listed",
    "list_models_page": "listings: test_private_repos_are_not_listed",
    "list_datasets_page": "listings: test_private_repos_are_not_listed",
    "list_spaces_page": "listings: test_private_repos_are_not_listed",
    "show_account": "listings: test_private_repos_are_not_listed",
    "show_login": "test_site.py::test_sign_in_and_out",
    "log_in": "test_site.py::test_sign_in_and_out",
    "log_out": "test_site.py::test_sign_in_and_out",
    "show_join": "test_signup_can_be_switched_off",
    "join": "test_signup_can_be_switched_off",
    "show_tokens": "the caller's own tokens: test_site.py::test_tokens_are_shown_once_and_revoked",
    "create_token_page": "the caller's own tokens: test_site.py::test_tokens_are_shown_once_and_revoked",
    "revoke_token_page": "the caller's own tokens: test_site.py::test_tokens_are_shown_once_and_revoked",
    "show_new_repo": "creates a repo in the caller's namespaces: test_site.py",
    "create_repo_page": "creates a repo in the caller's namespaces: test_site.py",
    **dict.fromkeys(
        ["show_jobs", "show_job", "cancel_job_page", "retry_job_page"],
        "background jobs, site admins only: test_admin_jobs_pages.py",
    ),
    **dict.fromkeys(
        [
            "show_new_training",
            "submit_training_page",
            "show_training_jobs",
            "show_training_job",
            "cancel_training_page",
        ],
        "training jobs, their owner's and site admins': tests/web/test_training_pages.py",
    ),
}


def _web_routes(app: Any) -> set[tuple[str, str]]:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        routes = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    return {
        (route.name, method)
        for route in routes
        if getattr(getattr(route, "endpoint", None), "__module__", "").startswith("hubstead.web.")
        for method in (route.methods or set())
    }


def test_every_web_route_is_classified(app: Any) -> None:
    routes = _web_routes(app)
    covered = {(p.route, p.method) for p in PAGES}
    unclassified = sorted(r for r in routes if r not in covered and r[0] not in NOT_REPO_PAGES)
    assert unclassified == [], "add these pages to PAGES (or NOT_REPO_PAGES with a reason)"
    stale = sorted(covered - routes) + sorted(set(NOT_REPO_PAGES) - {name for name, _ in routes})
    assert stale == []
    assert sorted(p.route for p in PAGES if p.need not in NEEDS) == [], f"a page needs one of {sorted(NEEDS)}"


class Browser:
    """An HTTP client that behaves like a browser on the site: a session cookie, and the CSRF token of a form.
    With ``token``, it also sends an API token, which pages do not take (they see an anonymous visitor)."""

    def __init__(self, base_url: str, cookie: str | None, token: str | None = None) -> None:
        headers = {"accept": "text/html"} | auth(token)
        self.client = httpx.Client(base_url=base_url, timeout=30, headers=headers)
        if cookie:
            self.client.cookies.set("hubstead_session", cookie)
        self.token = csrf_token(self.client, "/settings/tokens" if cookie else "/login")

    def send(
        self, page: Page, repo_id: str, repo_type: str = "model", *, csrf: bool = True, visibility: str = "public"
    ) -> httpx.Response:
        url = page.url.format(web=f"/{URL_PREFIX[repo_type]}{repo_id}")
        if page.method == "GET":
            return self.client.get(url)
        data = form_data(page, visibility) | ({"csrf_token": self.token} if csrf else {})
        files = {"files": ("new.txt", b"uploaded\n", "text/plain")} if page.files else None
        return self.client.post(url, data=data, files=files)

    def close(self) -> None:
        self.client.close()


def form_data(page: Page, visibility: str) -> dict[str, str]:
    return {key: value.format(visibility=visibility) for key, value in page.data.items()}


@pytest.fixture
def browsers(live_server: str, hub: Any, user: Any, other_user: Any) -> Any:
    made = {
        "anonymous": Browser(live_server, None),
        "other user": Browser(live_server, session_cookie(hub, "bob")),
        "owner": Browser(live_server, session_cookie(hub, "alice")),
    }
    yield made
    for browser in made.values():
        browser.close()


def _answer(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.text


# --- the matrix: every repo page, for every visitor, on a public, a private and a gated repo -----------------

SLOTS = {"public": "alice/open", "private": "alice/secret", "gated": "alice/gated"}
GHOST = "alice/ghost"
CONTENT = SMALL.decode().strip()  # hello.txt, shown by the pages that show file content
OK, MISSING, GATED, DENIED, BAD = "ok", "missing", "gated", "denied", "bad"
# the visitors: sessions (the website's credential); API tokens (which pages do not take: an anonymous visit)
SESSIONS = {"other user": "bob", "granted user": "gina", "owner": "alice"}
TOKENS = ("read token", "fine-grained token")  # bob's read token; gina's fine-grained one, gated repos included
GRANTED = {"granted user"}  # accepted access request on the gated repo


def expected_page(visitor: str, page: Page, visibility: str) -> str:
    anonymous = visitor == "anonymous" or visitor in TOKENS
    owner = visitor == "owner"
    if visibility == "private" and not owner:
        return MISSING
    if page.need == "read":
        return OK
    if page.need == "files":
        return OK if visibility != "gated" or owner or visitor in GRANTED else GATED
    if page.need == "write":
        return OK if owner else DENIED
    if anonymous:  # account, ask
        return DENIED
    return OK if page.need == "account" or visibility == "gated" else BAD


def check_page(outcome: str, response: httpx.Response, missing: httpx.Response, anonymous: bool) -> str | None:
    status, code = response.status_code, response.headers.get("x-error-code")
    if outcome == OK:
        return None if status in (200, 303) else f"{status}"
    if outcome == MISSING:
        ghost = missing.text.replace(GHOST, SLOTS["private"])
        return None if (status, response.text) == (missing.status_code, ghost) else f"{status}, unlike a missing repo"
    if outcome == GATED:
        want = 401 if anonymous else 403
        if (status, code) != (want, "GatedRepo"):
            return f"{status} {code}, expected {want} GatedRepo"
        return None if 'data-gate="closed"' in response.text else "not the gate page"
    if outcome == DENIED:
        want = 401 if anonymous else 403
        return None if status == want and code != "GatedRepo" else f"{status} {code}, expected {want}"
    return None if status == 400 else f"{status}, expected 400"


@pytest.fixture
def visitors(live_server: str, hub: Any, user: User, other_user: User) -> Any:
    make_user(hub, "gina")
    with hub.sessions.begin() as session:
        accounts = AccountService(session)
        gated_too = {"global": [], "scoped": [], "canReadGatedRepos": True}
        fine_grained = accounts.create_token(accounts.get_user("gina"), "fg", TokenRole.FINE_GRAINED, gated_too)[1]
    made = {
        "anonymous": Browser(live_server, None),
        "read token": Browser(live_server, None, other_user.read_token),
        "fine-grained token": Browser(live_server, None, fine_grained),
    }
    made |= {who: Browser(live_server, session_cookie(hub, name)) for who, name in SESSIONS.items()}
    yield made
    for browser in made.values():
        browser.close()


def seed_slots(live_server: str, user: User, repo_type: str) -> None:
    for visibility, repo_id in SLOTS.items():
        seed_repo(live_server, user.token, repo_id, repo_type=repo_type, private=visibility == "private")
    api = f"{live_server}/api/{API_TYPES[repo_type]}/{SLOTS['gated']}"
    assert httpx.put(f"{api}/settings", json={"gated": "manual"}, headers=auth(user.token)).status_code == 200
    granted = httpx.post(f"{api}/user-access-request/grant", json={"user": "gina"}, headers=auth(user.token))
    assert granted.status_code == 200, granted.text


@pytest.mark.parametrize("repo_type", ["model", "dataset"])
def test_pages_answer_every_caller_as_the_matrix_says(
    live_server: str, user: User, visitors: dict[str, Browser], repo_type: str
) -> None:
    """Pages in order: those that change the repo (the owner's uploads and edits) come after those that show it.
    A page shows hello.txt's content exactly when it shows file content and the visitor may see it."""
    seed_slots(live_server, user, repo_type)
    problems = []
    for page in PAGES:
        missing = {who: b.send(page, GHOST, repo_type) for who, b in visitors.items()}
        for visibility, repo_id in SLOTS.items():
            for who, browser in visitors.items():
                response = browser.send(page, repo_id, repo_type, visibility=visibility)
                outcome = expected_page(who, page, visibility)
                anonymous = who == "anonymous" or who in TOKENS
                wrong = check_page(outcome, response, missing[who], anonymous)
                shown = CONTENT in response.text
                if wrong is None and shown != (page.need == "files" and outcome == OK):
                    wrong = "shows hello.txt" if shown else "does not show hello.txt"
                if wrong:
                    problems.append(f"{page.route:22} {page.method:4} {visibility:8} {who:18} want {outcome}: {wrong}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("repo_type", ["model", "dataset"])
def test_private_repo_pages_are_indistinguishable_from_missing_ones(
    live_server: str, user: Any, browsers: dict[str, Browser], repo_type: str
) -> None:
    repo_id = "alice/secret"
    seed_repo(live_server, user.token, repo_id, repo_type=repo_type, private=True)
    outsiders = {who: b for who, b in browsers.items() if who != "owner"}

    private = {(p.route, who): _answer(b.send(p, repo_id, repo_type)) for p in PAGES for who, b in outsiders.items()}
    owner = {p.route: browsers["owner"].send(p, repo_id, repo_type, visibility="private").status_code for p in PAGES}
    owner.pop("ask_access_page")  # the repo is not gated: 400 (see the matrix below)
    assert all(status in (200, 303) for status in owner.values()), owner  # the URLs do reach the pages
    deleted = httpx.request(
        "DELETE",
        f"{live_server}/api/repos/delete",
        json={"name": "secret", "type": repo_type},
        headers={"authorization": f"Bearer {user.token}"},
    )
    assert deleted.status_code == 200, deleted.text
    missing = {(p.route, who): _answer(b.send(p, repo_id, repo_type)) for p in PAGES for who, b in outsiders.items()}

    assert private == missing
    assert {key: status for key, (status, _) in private.items()} == dict.fromkeys(private, 404)


@pytest.mark.parametrize("page", WRITES, ids=lambda p: p.route)
def test_changes_need_write_access_and_a_csrf_token(
    live_server: str, hub: Any, user: Any, browsers: dict[str, Browser], page: Page
) -> None:
    repo_id = "alice/public"
    seed_repo(live_server, user.token, repo_id)
    before = snapshot(httpx.Client(base_url=live_server), hub, repo_id, user.token)

    anonymous = browsers["anonymous"].send(page, repo_id)
    other = browsers["other user"].send(page, repo_id)
    no_token = browsers["owner"].send(page, repo_id, csrf=False)
    foreign = browsers["owner"].client.post(
        page.url.format(web=f"/{repo_id}"),
        data=form_data(page, "public") | {"csrf_token": browsers["owner"].token},
        headers={"origin": "https://evil.example"},
    )

    assert (anonymous.status_code, other.status_code, no_token.status_code, foreign.status_code) == (401, 403, 403, 403)
    assert snapshot(httpx.Client(base_url=live_server), hub, repo_id, user.token) == before
    accepted = browsers["owner"].send(page, repo_id)
    assert accepted.status_code == 303, accepted.text


def test_like_needs_a_csrf_token(live_server: str, user: Any, browsers: dict[str, Browser]) -> None:
    seed_repo(live_server, user.token, "alice/public")
    like = Page("toggle_like", "POST", "{web}/like", {"like": "1"})

    assert browsers["other user"].send(like, "alice/public", csrf=False).status_code == 403
    assert httpx.get(f"{live_server}/api/models/alice/public").json()["likes"] == 0
    assert browsers["other user"].send(like, "alice/public").status_code == 303
    assert httpx.get(f"{live_server}/api/models/alice/public").json()["likes"] == 1


def test_private_repos_are_not_listed(live_server: str, hub: Any, user: Any, browsers: dict[str, Browser]) -> None:
    api = httpx.Client(base_url=live_server, headers={"authorization": f"Bearer {user.token}"})
    for name, private in (("open-model", False), ("hidden-model", True)):
        assert api.post("/api/repos/create", json={"name": name, "private": private}).status_code == 200
    pages = ["/", "/models", "/models?search=model", "/models?author=alice", "/alice"]

    for who in ("anonymous", "other user"):
        for path in pages:
            text = browsers[who].client.get(path).text
            assert "alice/open-model" in text, (who, path)
            assert "hidden-model" not in text, (who, path)
    for path in pages:
        assert "alice/hidden-model" in browsers["owner"].client.get(path).text, path


def test_signup_can_be_switched_off(settings: Any) -> None:
    from fastapi.testclient import TestClient

    from hubstead.app import create_app
    from hubstead.hub import Hub

    closed = settings.model_copy(update={"signup_enabled": False})
    hub = Hub.from_settings(closed)
    with TestClient(create_app(closed, hub)) as client:
        token = csrf_token(client)
        assert client.get("/join", headers={"accept": "text/html"}).status_code == 404
        data = {"username": "mallory", "email": "m@example.org", "password": "long enough!", "csrf_token": token}
        assert client.post("/join", data=data).status_code == 404
        assert "Sign up" not in client.get("/login").text
    with hub.sessions() as session:
        from hubstead.accounts.services import AccountService

        assert AccountService(session).find_account("mallory") is None


def test_api_clients_keep_the_api_error_shape(live_server: str) -> None:
    api = httpx.get(f"{live_server}/api/no-such-endpoint")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/json"
    page = httpx.get(f"{live_server}/no/such/page/here", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'class="error-status"' in page.text


def test_signing_in_with_the_form_sets_a_session(live_server: str, hub: Any, user: Any) -> None:
    make_user(hub, "erin")
    with httpx.Client(base_url=live_server, headers={"accept": "text/html"}) as client:
        token = csrf_token(client)
        wrong = client.post("/login", data={"username": "erin", "password": "nope", "csrf_token": token})
        assert wrong.status_code == 401
        signed = client.post(
            "/login",
            data={"username": "erin", "password": "correct horse battery", "next": "//evil", "csrf_token": token},
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/"  # never to another site
        assert "hubstead_session" in client.cookies
        assert "erin" in client.get("/settings/tokens").text
