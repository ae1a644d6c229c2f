"""Scan badges on the website, in headless Chromium: the tree listing and the file page say what the scanner
found (safe, unsafe with the imports it found, pending), and a file found unsafe is not shown when the hub
blocks such files. Screenshots land in test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from hubstead.repos.files import FileService
from hubstead.repos.models import RepoType
from hubstead.repos.services import RepoService
from hubstead.scanning.services import ScanService
from tests.conftest import User
from tests.scanning_files import clean_torch, evil_pickle, evil_torch, safetensors_bytes
from tests.web._support import screenshot, seed

OpenPage = Callable[..., Page]


def test_badges_say_what_the_scanner_found(new_page: OpenPage, live_server: str, user: User, hub: Any) -> None:
    files = {
        "pytorch_model.bin": evil_torch(),
        "clean.bin": clean_torch(),
        "model.safetensors": safetensors_bytes(),
        "notes.dat": evil_pickle(protocol=0),
        "README.md": b"# zoo\n",
    }
    seed(live_server, user.token, "alice/zoo", files)
    hub.wait_for_jobs(120)
    page = new_page()

    page.goto("/alice/zoo/tree/main")
    row = page.locator("tr.entry", has=page.get_by_role("link", name="pytorch_model.bin", exact=True))
    expect(row.locator(".badge[data-scan-status]")).to_have_text("Unsafe")
    clean = page.locator("tr.entry", has=page.get_by_role("link", name="clean.bin", exact=True))
    expect(clean.locator(".badge[data-scan-status]")).to_have_text("Safe")
    readme = page.locator("tr.entry", has=page.get_by_role("link", name="README.md", exact=True))
    expect(readme.locator(".badge[data-scan-status]")).to_have_count(0)
    screenshot(page, "scan-tree")

    page.goto("/alice/zoo/blob/main/pytorch_model.bin")
    expect(page.locator(".file-head .badge[data-scan-status]")).to_have_text("Unsafe")
    report = page.locator("[data-scan-report]")
    expect(report).to_contain_text("found unsafe by picklescan")
    expect(report.locator("li.dangerous")).to_have_text("posix.system (dangerous)")
    screenshot(page, "scan-blob-unsafe")

    page.goto("/alice/zoo/blob/main/model.safetensors")
    expect(page.locator(".file-head .badge[data-scan-status]")).to_have_text("Safe")
    expect(page.locator("[data-scan-report]")).to_contain_text("Valid safetensors header")

    # a regular file's text is shown, unless it was found unsafe and the hub blocks such files
    page.goto("/alice/zoo/blob/main/notes.dat")
    expect(page.locator("table.code")).to_contain_text("system")
    hub.settings.scanning.block_unsafe_downloads = True
    page.goto("/alice/zoo/blob/main/notes.dat")
    expect(page.locator("table.code")).to_have_count(0)
    expect(page.locator(".file-body")).to_contain_text("found unsafe")
    screenshot(page, "scan-blob-blocked")


def test_a_file_not_scanned_yet_says_so(new_page: OpenPage, live_server: str, user: User, hub: Any) -> None:
    hub.settings.scanning.enabled = False  # nothing scans the upload
    seed(live_server, user.token, "alice/later", {"weights.pkl": evil_pickle()})
    page = new_page()
    page.goto("/alice/later/tree/main")
    expect(page.locator(".badge[data-scan-status]")).to_have_text("Not scanned")

    hub.settings.scanning.enabled = True
    with hub.sessions.begin() as session:  # the scan is asked for, but its pool has not run it yet
        repos = RepoService(session, hub.git, hub.blobs)
        repo = repos.find_repo(RepoType.MODEL, "alice/later")
        assert repo is not None
        assert repo.head_sha is not None
        ScanService(FileService(repos, hub.blobs), hub.settings.scanning).request_scan(repo.id, repo.head_sha)
    page.goto("/alice/later/blob/main/weights.pkl")
    expect(page.locator(".file-head .badge[data-scan-status]")).to_have_text("Scan pending")
    expect(page.locator("[data-scan-report]")).to_contain_text("queued")
