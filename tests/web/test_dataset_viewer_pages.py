"""The dataset viewer on the website, in headless Chromium: a dataset's page opens on a table of its rows (types
in the headers), pages it, searches it, filters and sorts it, shows statistics, and says when the conversion is
running or failed. Screenshots land in test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.conftest import User
from tests.web._support import screenshot, seed, session_cookie

OpenPage = Callable[..., Page]
ROWS = 60


def _csv() -> bytes:
    lines = ["word,number"] + [f"{'zebra' if i == ROWS - 1 else 'word' + str(i)},{i}" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def test_the_dataset_page_shows_pages_searches_and_filters_the_rows(
    new_page: OpenPage, live_server: str, user: User, hub: Any
) -> None:
    seed(live_server, user.token, "alice/words", {"words.csv": _csv()}, repo_type="dataset")
    page = new_page()
    page.goto("/datasets/alice/words")
    expect(page.locator("[data-viewer-status]")).to_contain_text("conversion of this dataset is running")

    hub.wait_for_jobs(120)
    page.goto("/datasets/alice/words")
    table = page.locator("[data-viewer-table]")
    expect(table.locator("thead th")).to_have_text(["#", "wordstring", "numberint64"])
    expect(table.locator("tbody tr")).to_have_count(25)
    expect(table.locator("tbody tr").first.locator("td").nth(1)).to_have_text("word0")
    expect(page.locator("[data-viewer-page]")).to_have_text("1\u201325 of 60")
    expect(page.locator("[data-viewer-count]")).to_contain_text("60 rows")
    screenshot(page, "viewer-table")

    page.get_by_role("button", name="Next").click()
    expect(page.locator("[data-viewer-page]")).to_have_text("26\u201350 of 60")
    expect(table.locator("tbody tr").first.locator("td").first).to_have_text("25")

    page.get_by_label("Search this split").fill("zebra")
    page.get_by_role("button", name="Apply").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr td").nth(1)).to_have_text("zebra")

    page.get_by_role("button", name="Reset").click()
    page.get_by_label("Filter (where)").fill('"number" >= 58')
    page.get_by_label("Sort by").select_option(label="Sort: number ↓")
    page.get_by_role("button", name="Apply").click()
    expect(table.locator("tbody td.idx")).to_have_text(["59", "58"])
    screenshot(page, "viewer-filter")

    page.get_by_label("Filter (where)").fill('"number" = 1; DROP TABLE data')
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-viewer-failed]")).to_contain_text("forbidden")

    page.get_by_role("button", name="Statistics").click()
    expect(page.locator(".viewer-stat h3")).to_have_text(["word · string_text", "number · int"])


def test_a_failed_conversion_says_why(new_page: OpenPage, live_server: str, user: User, hub: Any) -> None:
    card = b"---\nconfigs:\n- config_name: default\n  data_files: nowhere/*.csv\n---\n"
    seed(live_server, user.token, "alice/empty", {"README.md": card, "a.csv": b"a\n1\n"}, repo_type="dataset")
    hub.wait_for_jobs(120)
    page = new_page(cookie=session_cookie(hub, user.name))
    page.goto("/datasets/alice/empty")
    expect(page.locator("[data-viewer-failed]")).to_contain_text("No data file matches")


def test_a_data_files_page_shows_it_as_a_table(new_page: OpenPage, live_server: str, user: User) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table({"name": ["ada", "grace"], "year": [1815, 1906]}), out)
    files = {"people.parquet": out.getvalue(), "notes.jsonl": b'{"k": "v1"}\n{"k": "v2"}\n', "words.csv": _csv()}
    seed(live_server, user.token, "alice/files", files, repo_type="dataset")
    page = new_page()

    page.goto("/datasets/alice/files/blob/main/people.parquet")
    table = page.locator("[data-file-table] table")
    expect(table.locator("thead th")).to_have_text(["namestring", "yearint64"])
    expect(table.locator("tbody tr").nth(1)).to_have_text("grace1906")
    expect(page.locator(".file-body")).to_contain_text("The first 2 rows of 2")

    page.goto("/datasets/alice/files/blob/main/notes.jsonl")
    expect(page.locator("[data-file-table] tbody td")).to_have_text(["v1", "v2"])
    page.goto("/datasets/alice/files/blob/main/words.csv")
    expect(page.locator("[data-file-table] tbody tr")).to_have_count(ROWS)
    screenshot(page, "viewer-blob-csv")
