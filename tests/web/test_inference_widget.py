"""The model page's inference widget in headless Chromium: a text-classification model answers with bars, a
text-generation model streams its text, and the Deploy panel shows snippets pointing at this hub."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.inference import conftest as inference
from tests.web._support import screenshot

OpenPage = Callable[..., Page]
# this module's hub has a live inference worker: the fixtures of tests/inference
settings, worker, worker_config, worker_socket, worker_url = (
    inference.settings, inference.worker, inference.worker_config, inference.worker_socket, inference.worker_url
)  # fmt: skip
built_models, push_model = inference.built_models, inference.push_model


def test_widget_shows_classification_as_bars(
    new_page: OpenPage, live_server: str, built_models: Callable[[str], Path], push_model: Callable[..., str],
    worker: Any,
) -> None:  # fmt: skip
    repo_id = push_model(built_models("text-classification"), "widget-classifier")
    page = new_page()
    page.goto(f"/{repo_id}")
    widget = page.locator("[data-inference-widget]")
    expect(widget).to_contain_text("text-classification")
    widget.get_by_role("textbox", name="Input").fill("I love this movie")
    widget.get_by_role("button", name="Compute").click()
    expect(widget.locator(".widget-bar")).to_have_count(2, timeout=60_000)
    labels = widget.locator(".widget-label").all_text_contents()
    assert sorted(labels) == ["NEGATIVE", "POSITIVE"]
    deploy = page.locator("section.deploy")
    expect(deploy).to_contain_text(f"{live_server}/models/{repo_id}")
    expect(deploy).to_contain_text("InferenceClient")
    screenshot(page, "inference-widget-classification")
    page.reload()
    expect(page.locator("[data-stat=inference-calls]")).to_have_text("1 inference call")


def test_widget_streams_generated_text(
    new_page: OpenPage, built_models: Callable[[str], Path], push_model: Callable[..., str], worker: Any
) -> None:
    repo_id = push_model(built_models("text-generation"), "widget-writer")
    page = new_page()
    page.goto(f"/{repo_id}")
    widget = page.locator("[data-inference-widget]")
    widget.get_by_role("button", name="Compute").click()
    output = widget.locator(".widget-output")
    expect(output).to_have_text(re.compile(r"^(?!Computing).*\S", re.DOTALL), timeout=60_000)  # tokens arrived
    expect(output).not_to_have_class(re.compile("error"))
    expect(page.locator("section.deploy")).to_contain_text("openai")
