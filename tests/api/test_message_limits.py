"""Free text a caller sends is bounded: commit summaries and descriptions, tag messages, the lines of a commit,
every JSON body and form, and a card's YAML. Past a bound: a 400 or 413 that says which, and nothing stored.
Listings and pages show bounded text even of commits made before these bounds."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import select

from hubstead.config import Settings
from hubstead.gitstore.store import MAX_TITLE
from hubstead.repos.commits import MAX_DESCRIPTION, MAX_SUMMARY
from hubstead.repos.models import Repo
from hubstead.repos.services import ref_of
from tests.api._support import auth, commit, file_line, header_line, ndjson, seed_repo, snapshot
from tests.web._support import csrf_token, session_cookie

REPO = "alice/repo"
MiB = 1024 * 1024
LFS_THRESHOLD = 1 * MiB


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    from hubstead.config import RateLimitSettings

    # a small LFS threshold: a commit line carrying a file larger than it is refused (files that large use LFS)
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="test-secret",
        rate_limit=RateLimitSettings(enabled=False),
        lfs_size_threshold=LFS_THRESHOLD,
    )


@pytest.fixture
def client(live_server):
    with httpx.Client(base_url=live_server, timeout=60) as c:
        yield c


@pytest.fixture
def api(live_server, user) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


@pytest.fixture
def repo(live_server, user) -> str:
    seed_repo(live_server, user.token, REPO)
    return REPO


@pytest.fixture
def unchanged(client, hub, user, repo):
    before = snapshot(client, hub, repo, user.token)
    yield
    assert snapshot(client, hub, repo, user.token) == before


def error_of(response: httpx.Response) -> str:
    return str(response.json()["error"])


# --- commit messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "description", "fragment"),
    [
        ("s" * (MAX_SUMMARY + 1), "", "summary"),
        ("fine", "d" * (MAX_DESCRIPTION + 1), "description"),
        ("cut\x00here", "", "NUL"),  # libgit2 would cut the message at it
        ("fine", "cut\x00here", "NUL"),
    ],
    ids=["summary-too-long", "description-too-long", "nul-in-summary", "nul-in-description"],
)
def test_a_commit_message_past_its_bounds_is_refused_and_nothing_lands(
    api, repo, unchanged, message, description, fragment
):
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_commit(
            repo, [CommitOperationAdd("new.txt", b"new\n")], commit_message=message, commit_description=description
        )

    assert refused.value.response.status_code == 400
    assert fragment.lower() in str(refused.value).lower()


def test_a_summary_of_megabytes_is_refused_before_it_is_read_whole(client, user, repo, unchanged):
    body = ndjson(header_line("x" * (8 * MiB)), file_line("new.txt"))

    response = commit(client, repo, body, user.token)

    assert response.status_code == 413, response.text
    assert "header" in error_of(response)
    assert "summary" in error_of(response)


def test_a_commit_line_larger_than_preupload_allows_inline_is_refused(client, user, repo, unchanged):
    body = ndjson(header_line(), file_line("big.txt", b"a" * (2 * LFS_THRESHOLD)))

    response = commit(client, repo, body, user.token)

    assert response.status_code == 413, response.text
    assert "LFS" in error_of(response)


def test_messages_at_the_bounds_land_whole(api, repo):
    summary, description = "s" * MAX_SUMMARY, "d" * MAX_DESCRIPTION
    api.create_commit(
        repo, [CommitOperationAdd("new.txt", b"new\n")], commit_message=summary, commit_description=description
    )

    latest = api.list_repo_commits(repo)[0]
    assert latest.title == summary
    assert latest.message == description


def test_the_clients_default_message_for_a_long_path_is_accepted(api, repo):
    path = "/".join(["d" * 100] * 9) + "/file.txt"  # 914 characters: a path of the longest kind the hub takes
    api.upload_file(path_or_fileobj=b"x\n", path_in_repo=path, repo_id=repo)

    assert api.list_repo_commits(repo)[0].title == f"Upload {path} with huggingface_hub"


def test_a_tag_message_past_its_bound_is_refused(api, repo, unchanged):
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_tag(repo, tag="v1", tag_message="m" * (MAX_DESCRIPTION + 1))

    assert refused.value.response.status_code == 400


# --- commits made before the bounds are shown bounded ---------------------------------------------------


def commit_directly(hub, repo_id: str, message: str) -> str:
    """A commit written straight into git, as an older hub (or a copied repository) may hold one."""
    with hub.sessions() as session:
        row = session.scalar(select(Repo).where(Repo.id_key == repo_id))
        git = hub.git.open(ref_of(row).storage_key)
    tip = git.ref_target("refs/heads/main")
    sha = git.write_commit(git.build_tree(tip, []), [tip], message, "old-hub", "old@example.org")
    git.update_ref("refs/heads/main", sha, tip)
    return sha


def test_listings_and_pages_show_a_bounded_part_of_a_huge_commit_message(client, hub, user, repo):
    sha = commit_directly(hub, repo, "t" * (2 * MiB) + "\n\n" + "m" * (2 * MiB))

    listed = client.get(f"/api/models/{repo}/commits/main", headers=auth(user.token))
    assert listed.status_code == 200, listed.text
    item = next(c for c in listed.json() if c["id"] == sha)
    assert len(item["title"]) == MAX_TITLE
    assert item["title"].endswith("\u2026")
    assert len(item["message"]) < 128 * 1024
    assert len(listed.content) < 512 * 1024

    cookies = {"hubstead_session": session_cookie(hub, "alice")}
    for page in (f"/{repo}/commits/main", f"/{repo}/commit/{sha}"):
        response = client.get(page, headers={"accept": "text/html"}, cookies=cookies)
        assert response.status_code == 200, page
        assert len(response.content) < 512 * 1024, page


# --- bodies ---------------------------------------------------------------------------------------


def big_json(size: int, **fields: object) -> bytes:
    return json.dumps(fields | {"padding": "p" * size}).encode()


PREFIX = f"/api/models/{REPO}"
CAPPED_BODIES = [
    ("POST", "/api/repos/create", 64 * 1024),
    ("PUT", f"{PREFIX}/settings", 64 * 1024),
    ("POST", f"{PREFIX}/branch/dev", 64 * 1024),
    ("POST", f"{PREFIX}/tag/main", 1 * MiB),
    ("POST", f"{PREFIX}/preupload/main", 8 * MiB),
    ("POST", f"{PREFIX}/paths-info/main", 16 * MiB),
    ("POST", "/api/validate-yaml", 8 * MiB),
    ("POST", f"{PREFIX}/discussions", 1 * MiB),
    ("POST", f"/{REPO}.git/info/lfs/objects/batch", 4 * MiB),
]


@pytest.mark.parametrize(("method", "url", "cap"), CAPPED_BODIES, ids=[f"{m} {u}" for m, u, _ in CAPPED_BODIES])
def test_a_json_body_past_its_cap_is_refused_with_413(client, user, repo, unchanged, method, url, cap):
    headers = {"content-type": "application/json"} | auth(user.token)

    response = client.request(method, url, content=big_json(cap, name="x", title="t", tag="v9"), headers=headers)

    assert response.status_code == 413, response.text[:500]
    assert response.headers["x-error-message"]


def test_a_discussion_comment_past_its_cap_is_refused(api, repo):
    discussion = api.create_discussion(repo, title="hello")
    with pytest.raises(HfHubHTTPError) as refused:
        api.comment_discussion(repo, discussion.num, "c" * (2 * MiB))

    assert refused.value.response.status_code == 413
    assert len(api.get_discussion_details(repo, discussion.num).events) == 1


def test_a_website_form_past_its_cap_is_refused_and_nothing_lands(client, hub, user, repo, unchanged):
    client.cookies.set("hubstead_session", session_cookie(hub, "alice"))
    token = csrf_token(client, f"/{repo}/edit/main/README.md")
    form = {"csrf_token": token, "content": "c" * (9 * MiB), "summary": "big"}

    response = client.post(f"/{repo}/edit/main/README.md", data=form, headers={"accept": "text/html"})

    assert response.status_code == 413


def test_a_website_edit_with_a_summary_past_its_bound_is_refused(client, hub, user, repo, unchanged):
    client.cookies.set("hubstead_session", session_cookie(hub, "alice"))
    token = csrf_token(client, f"/{repo}/edit/main/README.md")
    form = {"csrf_token": token, "content": "# card\n", "summary": "s" * (MAX_SUMMARY + 1)}

    response = client.post(f"/{repo}/edit/main/README.md", data=form, headers={"accept": "text/html"})

    assert response.status_code == 400
    assert "summary" in response.text


# --- cards ----------------------------------------------------------------------------------------


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "---\n" + "\n".join(lines) + "\nlicense: mit\n---\n# card\n"


CARDS = {
    "alias-bomb": alias_bomb(7),  # 500 bytes standing for ten million strings
    "nested-too-deep": "---\nlicense: mit\ntags: " + "[" * 5000 + "]" * 5000 + "\n---\n",
    "integer-too-long": "---\nlicense: mit\nseed: " + "9" * 5000 + "\n---\n",
    "recursive-alias": "---\nlicense: mit\nloop: &loop [*loop]\n---\n",
}


@pytest.mark.parametrize("card", CARDS.values(), ids=CARDS.keys())
def test_a_card_past_the_yaml_bounds_is_committed_without_its_metadata(api, client, user, repo, card):
    """huggingface_hub asks /api/validate-yaml first (see below); git, or any other client, just commits."""
    started = time.monotonic()
    response = commit(client, repo, ndjson(header_line("card"), file_line("README.md", card.encode())), user.token)
    assert response.status_code == 200, response.text

    info = api.model_info(repo)
    assert info.card_data is None or len(json.dumps(info.card_data.to_dict())) < 1024
    assert api.list_repo_commits(repo)[0].title == "card"
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("name", ["alias-bomb", "nested-too-deep", "integer-too-long"])
def test_validate_yaml_reports_a_card_past_the_bounds(client, name):
    response = client.post("/api/validate-yaml", json={"content": CARDS[name], "repoType": "model"})

    assert response.status_code == 400, response.text
    assert "too large or complex" in response.json()["errors"][0]["message"]


def test_an_ordinary_card_with_anchors_keeps_its_metadata(api, repo):
    card = "---\nlicense: mit\nbase: &b {lr: 0.1}\nrun: *b\ntags: [a, b]\n---\n# card\n"
    api.create_commit(repo, [CommitOperationAdd("README.md", card.encode())], commit_message="card")

    data = api.model_info(repo).card_data.to_dict()
    assert data["run"] == {"lr": 0.1}
    assert data["license"] == "mit"
