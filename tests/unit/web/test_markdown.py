"""Cards as HTML: Markdown features kept, everything that could run dropped, links into the repo resolved."""

from __future__ import annotations

import pytest

from hubstead.web.markdown import LinkBase, MarkdownRenderer

BASE = LinkBase("/alice/bert", "main")


@pytest.fixture(scope="module")
def render() -> MarkdownRenderer:
    return MarkdownRenderer()


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src="x.png" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        '<iframe src="https://example.org"></iframe>',
        '<div onclick="alert(1)">x</div>',
        '<svg onload="alert(1)"><circle/></svg>',
        "<style>body{display:none}</style>",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<form action="https://evil.example"><input name=a></form>',
        '<object data="x.swf"></object>',
        '<p style="position:fixed">x</p>',
    ],
)
def test_nothing_that_runs_survives(render: MarkdownRenderer, hostile: str) -> None:
    out = render.render(hostile, BASE).lower()
    for needle in (
        "<script",
        "onerror",
        "onclick",
        "onload",
        'href="javascript',
        "<iframe",
        "<svg",
        "<style",
        "<form",
        "<object",
        'href="data:',
        "style=",
    ):
        assert needle not in out, (hostile, out)


def test_tables_code_and_math(render: MarkdownRenderer) -> None:
    out = render.render("| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nimport os\n```\n\n$x_1$ and $$y^2$$\n", BASE)
    assert "<table>" in out
    assert '<span class="kn">import</span>' in out
    assert '<code class="math">$x_1$</code>' in out
    assert '<code class="math">$$y^2$$</code>' in out


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("![a](images/a.png)", 'src="/alice/bert/resolve/main/images/a.png"'),
        ('<img src="./b.png">', 'src="/alice/bert/resolve/main/b.png"'),
        ("[docs](docs/usage.md#install)", 'href="/alice/bert/blob/main/docs/usage.md#install"'),
        ("[up](../../escape.md)", 'href="/alice/bert/blob/main/"'),
        ("[site](https://example.org/x)", 'href="https://example.org/x"'),
        ("[anchor](#usage)", 'href="#usage"'),
    ],
)
def test_links_and_images_point_into_the_repo(render: MarkdownRenderer, markdown: str, expected: str) -> None:
    assert expected in render.render(markdown, BASE)


def test_revision_with_a_slash_stays_one_segment(render: MarkdownRenderer) -> None:
    out = render.render("![a](a.png)", LinkBase("/datasets/alice/data", "refs/pr/1"))
    assert 'src="/datasets/alice/data/resolve/refs%2Fpr%2F1/a.png"' in out


def test_front_matter_is_not_shown(render: MarkdownRenderer) -> None:
    out = render.render("---\nlicense: mit\n---\n# Title\n", BASE)
    assert "license" not in out
    assert "<h1>Title</h1>" in out


def test_renders_are_cached_by_blob_and_links(render: MarkdownRenderer) -> None:
    first = render.render("# A", BASE, cache_key="oid1")
    assert render.render("# something else", BASE, cache_key="oid1") == first
    assert render.render("# B", LinkBase("/alice/bert", "v1"), cache_key="oid1") != first
