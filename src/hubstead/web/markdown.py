"""Cards and Markdown files as safe HTML: CommonMark with tables, highlighted code, math kept as text,
links and images into the repo resolved, and everything sanitised (no scripts, no event handlers, no
``javascript:`` URLs) whatever raw HTML the card carries."""

from __future__ import annotations

import html
import posixpath
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from hubstead.web.highlight import highlight_block

ALLOWED_TAGS = nh3.ALLOWED_TAGS | {"input", "picture", "source", "section", "main"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "title", "align", "id"},
    "a": {"href", "hreflang", "name"},
    "img": {"src", "alt", "width", "height", "align", "loading"},
    "source": {"srcset", "media", "type"},
    "input": {"type", "checked", "disabled"},
    "details": {"open"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
}
URL_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = frozenset({("a", "href"), ("img", "src"), ("source", "srcset")})
CACHE_SIZE = 256


@dataclass(frozen=True)
class LinkBase:
    """Where a document's relative links point: ``/{prefix}{repo_id}`` at ``revision``, from ``folder``."""

    repo_path: str
    revision: str
    folder: str = ""

    def resolve(self, url: str, *, raw: bool) -> str | None:
        """``url`` made absolute on this site; ``None`` drops it (a scheme not in URL_SCHEMES)."""
        parts = urlsplit(url.strip())
        if parts.scheme or url.startswith("//"):
            return url if parts.scheme.lower() in URL_SCHEMES else None
        if url.startswith(("#", "/", "?")):
            return url
        target = posixpath.normpath(posixpath.join(self.folder, parts.path)) if parts.path else self.folder
        if target in (".", "") or target.startswith(".."):
            target = ""
        view = "resolve" if raw else "blob"
        path = f"{self.repo_path}/{view}/{quote(self.revision, safe='')}/{quote(target)}"
        return path + (f"#{parts.fragment}" if parts.fragment else "")


def _math_inline(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    mark = token.markup or "$"
    return f'<code class="math">{mark}{html.escape(token.content)}{mark}</code>'


def _math_block(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return f'<pre class="math">$$\n{html.escape(tokens[idx].content.strip())}\n$$</pre>\n'


def _highlight(code: str, lang: str, attrs: str) -> str:
    return highlight_block(code, lang)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "highlight": _highlight, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(front_matter_plugin).use(dollarmath_plugin, allow_space=False, double_inline=True)
    for name in ("math_inline", "math_inline_double"):
        md.add_render_rule(name, _math_inline)
    for name in ("math_block", "math_block_label"):
        md.add_render_rule(name, _math_block)
    return md


class MarkdownRenderer:
    """Renders Markdown to sanitised HTML. Thread-safe; keeps the last renders, keyed by the document's git
    blob id and where its links point (the same blob renders the same at another revision but links there)."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._md = _parser()
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, LinkBase], str] = OrderedDict()
        self._cache_size = cache_size

    def render(self, text: str, base: LinkBase, cache_key: str | None = None) -> str:
        key = (cache_key, base) if cache_key else None
        if key is not None:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
        out = sanitize(self._md.render(text), base)
        if key is not None:
            with self._lock:
                self._cache[key] = out
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out


def sanitize(fragment: str, base: LinkBase) -> str:
    """Keep safe tags and attributes only; relative links and images point into the repo."""

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute) in URL_ATTRIBUTES:
            if attribute == "srcset":
                return None  # candidates lists are hard to check one by one: the <img> fallback remains
            return base.resolve(value, raw=tag == "img")
        if attribute == "id":
            return f"user-content-{value}"
        if attribute == "type" and tag == "input":
            return value if value == "checkbox" else None
        return value

    cleaned: str = nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return cleaned


def plain_summary(card_data: dict[str, Any] | None) -> str:
    """A one-line description for ``<meta name=description>``, if the card metadata has one."""
    if not card_data:
        return ""
    for key in ("description", "pretty_name", "title"):
        value = card_data.get(key)
        if isinstance(value, str):
            return value[:300]
    return ""
