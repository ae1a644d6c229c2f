"""The website in headless Chromium: search, a model's page and card, files, history and diffs, signing in,
publishing (create, upload, edit the card, visibility, delete), tokens, likes; and a hostile card that must
run nothing. Screenshots of the main pages land in test-artifacts/web/.

These run on SQLite only: the pages call the same services the API tests run on every backend, and
tests/web/test_web_privacy.py runs the pages themselves on every backend over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import User, make_user
from tests.web._support import screenshot, seed, session_cookie, tiny_png

OpenPage = Callable[..., Page]

MODEL_CARD = """---
license: apache-2.0
pipeline_tag: text-classification
library_name: transformers
language:
- en
- fr
datasets:
- alice/reviews
base_model: alice/base-model
---
# Sentiment BERT

Reads product reviews and says whether they are **positive** or negative.

| metric   | value |
|----------|-------|
| accuracy | 0.93  |

```python
from transformers import pipeline
classifier = pipeline("text-classification")
```

The loss is $L = -\\sum_i y_i \\log p_i$, unchanged.

![diagram](images/diagram.png)
"""

HOSTILE_CARD = """---
license: mit
---
# Hostile card

<script>window.__pwned = "script"</script>
<img src="missing.png" onerror="window.__pwned = 'onerror'">
<a href="javascript:window.__pwned='link'">javascript link</a>
[markdown javascript link](javascript:window.__pwned='md')
<a href="JaVaScRiPt:window.__pwned='mixed-case'">mixed case link</a>
<div onmouseover="window.__pwned='hover'">hover me</div>
<iframe src="javascript:window.__pwned='iframe'"></iframe>
<svg><script>window.__pwned='svg'</script></svg>
<form action="javascript:window.__pwned='form'"><button>send</button></form>
<style>body { display: none }</style>

<b>Raw bold stays</b> and <details><summary>raw details</summary>stay too</details>
"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hubstead.db'}"


def _model(live_server: str, user: User, name: str = "sentiment-bert", card: str = MODEL_CARD, **kw: Any) -> str:
    files = {
        "README.md": card.encode(),
        "config.json": b'{"model_type": "bert", "architectures": ["BertForSequenceClassification"]}',
        "src/train.py": b"import torch\n\n\ndef train(steps: int) -> None:\n    print('training', steps)\n",
        "images/diagram.png": tiny_png(),
        "model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + b"\x00" * 64,
    }
    return seed(live_server, user.token, f"{user.name}/{name}", files, **kw)


# --- finding and reading ------------------------------------------------------------------------------


def test_search_and_filter(new_page: OpenPage, live_server: str, user: User) -> None:
    _model(live_server, user)
    seed(
        live_server,
        user.token,
        "alice/tiny-gpt",
        {"README.md": b"---\npipeline_tag: text-generation\nlicense: mit\n---\n# Tiny GPT\n"},
    )
    seed(
        live_server,
        user.token,
        "alice/reviews",
        {"README.md": b"---\nlanguage: [en]\n---\n# Reviews\n"},
        repo_type="dataset",
    )
    page = new_page()

    page.goto("/")
    expect(page.locator(".column").first).to_contain_text("alice/sentiment-bert")
    screenshot(page, "home")

    page.fill(".hero-search input[name=search]", "bert")
    page.press(".hero-search input[name=search]", "Enter")
    expect(page).to_have_url(re.compile(r"/models\?search=bert"))
    results = page.locator(".results .repo-item-id")
    expect(results).to_have_text(["alice/sentiment-bert"])

    page.goto("/models")
    page.locator(".facet", has_text="Tasks").get_by_role("link", name="text-generation", exact=True).click()
    expect(page).to_have_url(re.compile(r"pipeline_tag=text-generation"))
    expect(results).to_have_text(["alice/tiny-gpt"])
    page.locator(".active-filters a", has_text="clear all").click()
    page.select_option("select#sort", "likes")
    expect(page).to_have_url(re.compile(r"sort=likes"))
    expect(results).to_have_count(2)
    page.locator(".facet summary", has_text="Licenses").click()
    page.locator(".facet", has_text="Licenses").get_by_role("link", name="apache-2.0", exact=True).click()
    expect(results).to_have_text(["alice/sentiment-bert"])
    screenshot(page, "search")

    page.goto("/datasets?language=en")
    expect(page.locator(".results .repo-item-id")).to_have_text(["alice/reviews"])


def test_model_page_shows_the_card_the_metadata_and_snippets(new_page: OpenPage, live_server: str, user: User) -> None:
    _model(live_server, user)
    page = new_page()

    page.goto("/alice/sentiment-bert")

    card = page.locator("#card")
    expect(card.locator("h1")).to_have_text("Sentiment BERT")
    expect(card.locator("table td").first).to_have_text("accuracy")
    expect(card.locator("pre.highlight span.kn").first).to_have_text("from")  # highlighted code
    expect(card.locator("code.math")).to_have_text("$L = -\\sum_i y_i \\log p_i$")  # math left as text
    image = card.locator("img")
    expect(image).to_have_attribute("src", "/alice/sentiment-bert/resolve/main/images/diagram.png")
    assert page.evaluate("document.querySelector('#card img').naturalWidth") == 2  # resolved from the repo
    panel = page.locator(".side")
    for text in ("text-classification", "transformers", "apache-2.0", "en", "fr", "alice/reviews", "alice/base-model"):
        expect(panel.locator(".meta")).to_contain_text(text)
    expect(panel.locator("[data-stat=size]")).not_to_have_text("0 Bytes")
    expect(panel.locator(".snippet").first).to_contain_text(f'os.environ["HF_ENDPOINT"] = "{live_server}"')
    expect(panel.locator(".snippet").first).to_contain_text(
        'pipeline("text-classification", model="alice/sentiment-bert")'
    )
    expect(panel.locator(".snippet", has_text="huggingface_hub")).to_contain_text(f'endpoint="{live_server}"')
    screenshot(page, "model")

    phone = new_page(phone=True)
    phone.goto("/alice/sentiment-bert")
    expect(phone.locator("#card h1")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page wider than a phone"
    screenshot(phone, "model-phone")


def test_hostile_card_is_shown_without_running_anything(new_page: OpenPage, live_server: str, user: User) -> None:
    seed(live_server, user.token, "alice/hostile", {"README.md": HOSTILE_CARD.encode()})
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto("/alice/hostile")

    card = page.locator("#card")
    expect(card.locator("b")).to_have_text("Raw bold stays")  # harmless raw HTML is kept
    expect(card.locator("details summary")).to_have_text("raw details")
    expect(page.locator("body")).to_be_visible()  # the card's <style> is gone
    for selector in (
        "script",
        "iframe",
        "svg",
        "form",
        "style",
        "[onerror]",
        "[onmouseover]",
        "a[href^='javascript' i]",
    ):
        assert card.locator(selector).count() == 0, selector
    card.get_by_text("hover me").hover()
    for name in ("javascript link", "mixed case link"):
        card.get_by_text(name).click()
    card.get_by_text("markdown javascript link", exact=False).click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    expect(page).to_have_url(f"{live_server}/alice/hostile")


def test_browse_files_versions_and_a_file(new_page: OpenPage, live_server: str, user: User) -> None:
    _model(live_server, user)
    api_headers = {"authorization": f"Bearer {user.token}"}
    httpx.post(f"{live_server}/api/models/alice/sentiment-bert/branch/dev", headers=api_headers).raise_for_status()
    seed(live_server, user.token, "alice/sentiment-bert", {"only-on-dev.txt": b"dev\n"}, revision="dev")
    page = new_page()

    page.goto("/alice/sentiment-bert")
    page.get_by_role("link", name="Files and versions").click()
    expect(page).to_have_url(re.compile(r"/alice/sentiment-bert/tree/main$"))
    weights = page.locator("tr.entry", has_text="model.safetensors")
    expect(weights.locator(".badge.lfs")).to_have_text("LFS")
    screenshot(page, "tree")

    page.get_by_role("link", name="src", exact=True).click()
    page.get_by_role("link", name="train.py", exact=True).click()
    expect(page).to_have_url(re.compile(r"/blob/main/src/train.py$"))
    expect(page.locator("table.code .lc span.kn").first).to_have_text("import")
    expect(page.locator("[data-file-size]")).to_have_text("75 Bytes")
    raw = page.request.get(page.get_by_role("link", name="raw").get_attribute("href") or "")
    assert raw.ok
    assert raw.text().startswith("import torch")
    download = page.request.get(page.get_by_role("link", name="↓ download").get_attribute("href") or "")
    assert download.ok
    assert download.body().startswith(b"import torch")
    screenshot(page, "blob")

    page.goto("/alice/sentiment-bert/blob/main/model.safetensors")
    expect(page.locator(".file-head .badge.lfs")).to_be_visible()
    expect(page.locator(".lfs-details")).to_contain_text("SHA256")

    page.goto("/alice/sentiment-bert/tree/main")
    page.locator(".refswitch summary").click()
    page.locator(".refswitch .menu").get_by_role("link", name="dev").click()
    expect(page).to_have_url(re.compile(r"/tree/dev$"))
    expect(page.get_by_role("link", name="only-on-dev.txt", exact=True)).to_be_visible()


def test_commit_history_and_diff(new_page: OpenPage, live_server: str, user: User) -> None:
    _model(live_server, user)
    changed = b"import torch\n\n\ndef train(steps: int) -> None:\n    print('training for', steps, 'steps')\n"
    seed(live_server, user.token, "alice/sentiment-bert", {"src/train.py": changed}, message="Say how many steps")
    page = new_page()

    page.goto("/alice/sentiment-bert/commits/main")
    expect(page.locator(".commit-title").first).to_have_text("Say how many steps")
    page.locator(".commit-title").first.click()

    diff = page.locator("section.diff", has_text="src/train.py")
    expect(diff.locator("tr.del .lc")).to_have_text("-    print('training', steps)")
    expect(diff.locator("tr.add .lc")).to_have_text("+    print('training for', steps, 'steps')")
    expect(page.locator(".diffstat")).to_contain_text("+1")
    screenshot(page, "commit")


def test_a_gated_repo_asks_for_access_before_showing_its_files(
    new_page: OpenPage, live_server: str, hub: Any, user: User
) -> None:
    _model(live_server, user, name="gated-bert")
    gated = httpx.put(
        f"{live_server}/api/models/alice/gated-bert/settings",
        json={"gated": "auto"},
        headers={"authorization": f"Bearer {user.token}"},
    )
    assert gated.status_code == 200
    make_user(hub, "bob")
    page = new_page()

    response = page.goto("/alice/gated-bert/blob/main/src/train.py")
    assert response is not None
    assert response.status == 401
    expect(page.locator(".gate h2")).to_contain_text("restricted")
    expect(page.locator("table.code")).to_have_count(0)
    page.get_by_role("link", name="Log in to request access").click()
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server}/alice/gated-bert/blob/main/src/train.py")  # the gate, signed in
    expect(page.get_by_role("button", name="Request access")).to_be_visible()
    screenshot(page, "gate")

    page.get_by_role("button", name="Request access").click()  # an auto gate: access at once
    expect(page).to_have_url(f"{live_server}/alice/gated-bert/blob/main/src/train.py")
    expect(page.locator("table.code .lc span.kn").first).to_have_text("import")
    page.goto("/alice/gated-bert")
    expect(page.locator(".gate-granted")).to_be_visible()
    expect(page.locator(".badge.gated")).to_be_visible()


# --- accounts ----------------------------------------------------------------------------------------


def test_sign_in_and_out(new_page: OpenPage, live_server: str, user: User) -> None:
    page = new_page()
    page.goto("/models")
    page.get_by_role("link", name="Log in").click()

    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".alert")).to_contain_text("Invalid username or password")
    screenshot(page, "login")

    page.fill("input[name=password]", "correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server}/models")  # back where the visitor was
    expect(page.locator(".usermenu .username")).to_have_text("alice")

    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_sign_up(new_page: OpenPage, live_server: str) -> None:
    page = new_page()
    page.goto("/join")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=email]", "carol@example.org")
    page.fill("input[name=password]", "a long enough password")
    page.get_by_role("button", name="Sign up").click()

    expect(page.locator(".usermenu .username")).to_have_text("carol")
    page.goto("/carol")
    expect(page.locator(".profile h1")).to_have_text("carol")


def test_tokens_are_shown_once_and_revoked(new_page: OpenPage, live_server: str, hub: Any, user: User) -> None:
    page = new_page(cookie=session_cookie(hub, "alice"))
    page.goto("/settings/tokens")
    page.fill("input[name=name]", "laptop")
    page.select_option("select[name=role]", "write")
    page.get_by_role("button", name="Create token").click()

    token = page.locator("[data-new-token]").inner_text()
    assert token.startswith("hf_")
    whoami = httpx.get(f"{live_server}/api/whoami-v2", headers={"authorization": f"Bearer {token}"})
    assert whoami.status_code == 200
    assert whoami.json()["name"] == "alice"
    screenshot(page, "tokens")

    page.goto("/settings/tokens")
    expect(page.locator("[data-new-token]")).to_have_count(0)  # never shown again
    assert token not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr[data-token-name=laptop]").get_by_role("button", name="Revoke").click()
    expect(page.locator("tr[data-token-name=laptop]")).to_have_count(0)
    whoami = httpx.get(f"{live_server}/api/whoami-v2", headers={"authorization": f"Bearer {token}"})
    assert whoami.status_code == 401


# --- publishing --------------------------------------------------------------------------------------


def test_create_private_repo_upload_edit_card_and_change_settings(
    new_page: OpenPage, live_server: str, hub: Any, user: User, tmp_path: Path
) -> None:
    page = new_page(cookie=session_cookie(hub, "alice"))
    outsider = new_page()

    page.goto("/new")
    page.fill("input[name=name]", "secret-model")
    page.check("input[name=visibility][value=private]")
    screenshot(page, "new")
    page.get_by_role("button", name="Create repository").click()
    expect(page).to_have_url(f"{live_server}/alice/secret-model")
    expect(page.locator(".repo-title .badge.private")).to_be_visible()
    outsider.goto("/alice/secret-model")
    expect(outsider.locator(".error-status")).to_have_text("404")

    (tmp_path / "notes.txt").write_text("hello from the browser\n")
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01binary weights" * 100)
    page.get_by_role("link", name="Files and versions").click()
    page.get_by_role("link", name="+ Upload files").click()
    page.set_input_files("input[type=file]", [str(tmp_path / "notes.txt"), str(tmp_path / "weights.bin")])
    page.fill("input[name=summary]", "Upload notes and weights")
    screenshot(page, "upload")
    page.get_by_role("button", name=re.compile("Commit changes")).click()
    expect(page).to_have_url(f"{live_server}/alice/secret-model/tree/main")
    expect(page.locator(".last-commit")).to_contain_text("Upload notes and weights")
    expect(page.locator("tr.entry", has_text="weights.bin").locator(".badge.lfs")).to_be_visible()
    expect(page.locator("tr.entry", has_text="notes.txt").locator(".badge.lfs")).to_have_count(0)

    page.get_by_role("link", name="Model card").click()
    page.get_by_role("link", name="Create a card").click()
    page.fill(
        "textarea[name=content]",
        "---\nlicense: mit\npipeline_tag: fill-mask\n---\n# Secret model\n\nMade in a browser.\n",
    )
    screenshot(page, "edit")
    page.get_by_role("button", name=re.compile("Commit changes")).click()
    expect(page.locator("#card h1")).to_have_text("Secret model")
    expect(page.locator(".side .meta")).to_contain_text("fill-mask")

    page.get_by_role("link", name="Settings").click()
    expect(page.locator("[data-visibility]")).to_have_text("private")
    page.get_by_role("button", name="Make public").click()
    expect(page.locator("[data-visibility]")).to_have_text("public")
    screenshot(page, "settings")
    outsider.goto("/alice/secret-model")
    expect(outsider.locator("#card h1")).to_have_text("Secret model")

    page.fill("input[name=new_name]", "open-model")
    page.get_by_role("button", name="Rename").click()
    expect(page).to_have_url(f"{live_server}/alice/open-model")
    page.get_by_role("link", name="Settings").click()
    page.fill("input[name=confirm]", "alice/open-model")
    page.get_by_role("button", name=re.compile("delete this repository")).click()
    expect(page).to_have_url(f"{live_server}/alice")
    outsider.goto("/alice/open-model")
    expect(outsider.locator(".error-status")).to_have_text("404")


def test_like_button(new_page: OpenPage, live_server: str, hub: Any, user: User) -> None:
    _model(live_server, user)
    make_user(hub, "bob")
    page = new_page(cookie=session_cookie(hub, "bob"))
    page.goto("/alice/sentiment-bert")
    button = page.locator(".like-button")

    button.click()
    expect(button.locator(".count")).to_have_text("1")
    expect(button).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator(".like-button .label")).to_have_text("Liked")
    page.locator(".like-button").click()
    expect(page.locator(".like-button .count")).to_have_text("0")


def test_private_repos_and_unknown_pages_are_a_404_page(new_page: OpenPage, live_server: str, user: User) -> None:
    _model(live_server, user, name="hidden", private=True)
    page = new_page()

    for path in ("/alice/hidden", "/alice/hidden/tree/main", "/alice/missing", "/no/such/page/at/all"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(page.locator(".error-status")).to_have_text("404")
        expect(page.locator(".topbar")).to_be_visible()  # the site's look
    screenshot(page, "404")
    page.goto("/alice")
    expect(page.locator(".profile")).not_to_contain_text("hidden")
