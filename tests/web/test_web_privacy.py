"""The website's pages over plain HTTP, on every database backend: a private repo is a 404 page exactly like
a missing one for anyone who may not read it; changes need write access and a CSRF token; sign-up can be
switched off; API clients keep the API's error shape.

Like tests/api/test_privacy.py, the table of calls is checked against ``app.routes``: a new page fails
``test_every_web_route_is_classified`` until it is added here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api._support import URL_PREFIX, seed_repo, snapshot
from tests.conftest import make_user
from tests.web._support import csrf_token, session_cookie


@dataclass(frozen=True)
class Page:
    """One page or form of a repo; ``url`` is a template over ``web`` (``/ns/name`` or ``/datasets/ns/name``)."""

    route: str
    method: str
    url: str
    data: dict[str, str] = field(default_factory=dict)
    files: bool = False  # a multipart upload
    write: bool = False  # needs write access (else reading is enough)


PAGES = [
    Page("show_repo", "GET", "{web}"),
    Page("show_tree_root", "GET", "{web}/tree/main"),
    Page("show_tree", "GET", "{web}/tree/main/folder"),
    Page("show_file", "GET", "{web}/blob/main/hello.txt"),
    Page("show_raw_file", "GET", "{web}/raw/main/hello.txt"),
    Page("list_commits_page", "GET", "{web}/commits/main"),
    Page("show_commit", "GET", "{web}/commit/main"),
    Page("toggle_like", "POST", "{web}/like", {"like": "1"}),
    Page("show_upload", "GET", "{web}/upload/main", write=True),
    Page("upload_files", "POST", "{web}/upload/main", {"summary": "upload"}, files=True, write=True),
    Page("show_edit", "GET", "{web}/edit/main/README.md", write=True),
    Page("save_edit", "POST", "{web}/edit/main/hello.txt", {"content": "changed\n"}, write=True),
    Page("show_settings", "GET", "{web}/settings", write=True),
    Page(
        "update_settings_page", "POST", "{web}/settings", {"action": "visibility", "visibility": "public"}, write=True
    ),
]
WRITES = [p for p in PAGES if p.write and p.method == "POST"]

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


class Browser:
    """An HTTP client that behaves like a browser on the site: a session cookie, and the CSRF token of a form."""

    def __init__(self, base_url: str, cookie: str | None) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30, headers={"accept": "text/html"})
        if cookie:
            self.client.cookies.set("hubstead_session", cookie)
        self.token = csrf_token(self.client, "/settings/tokens" if cookie else "/login")

    def send(self, page: Page, repo_id: str, repo_type: str = "model", *, csrf: bool = True) -> httpx.Response:
        url = page.url.format(web=f"/{URL_PREFIX[repo_type]}{repo_id}")
        if page.method == "GET":
            return self.client.get(url)
        data = page.data | ({"csrf_token": self.token} if csrf else {})
        files = {"files": ("new.txt", b"uploaded\n", "text/plain")} if page.files else None
        return self.client.post(url, data=data, files=files)

    def close(self) -> None:
        self.client.close()


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


@pytest.mark.parametrize("repo_type", ["model", "dataset"])
def test_private_repo_pages_are_indistinguishable_from_missing_ones(
    live_server: str, user: Any, browsers: dict[str, Browser], repo_type: str
) -> None:
    repo_id = "alice/secret"
    seed_repo(live_server, user.token, repo_id, repo_type=repo_type, private=True)
    outsiders = {who: b for who, b in browsers.items() if who != "owner"}

    private = {(p.route, who): _answer(b.send(p, repo_id, repo_type)) for p in PAGES for who, b in outsiders.items()}
    owner = {p.route: browsers["owner"].send(p, repo_id, repo_type).status_code for p in PAGES}
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
        data=page.data | {"csrf_token": browsers["owner"].token},
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
