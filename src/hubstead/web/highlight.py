"""Code highlighting with Pygments: fenced blocks in cards and whole files in the file view."""

from __future__ import annotations

import html

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

MAX_HIGHLIGHT_BYTES = 512 * 1024  # past this a file is shown as plain text: Pygments takes seconds on megabytes
_BLOCK = HtmlFormatter(nowrap=True)
# file names Pygments does not know but every repo has
KNOWN_NAMES = {".gitattributes": "text", ".gitignore": "text", "LICENSE": "text", "Dockerfile": "docker"}


def highlight_block(code: str, lang: str) -> str:
    """A fenced code block as ``<pre><code>``; the language's lexer if there is one."""
    lexer = _lexer_by_name(lang.split()[0] if lang.strip() else "")
    body = html.escape(code) if lexer is None else highlight(code, lexer, _BLOCK)
    return f'<pre class="highlight"><code>{body}</code></pre>\n'


def _lexer_by_name(name: str) -> Lexer | None:
    if not name:
        return None
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


def lexer_for_file(path: str) -> Lexer:
    name = path.rsplit("/", 1)[-1]
    if name in KNOWN_NAMES:
        known: Lexer = get_lexer_by_name(KNOWN_NAMES[name])
        return known
    lexer: Lexer
    try:
        lexer = get_lexer_for_filename(name)
    except ClassNotFound:
        lexer = TextLexer()
    return lexer


def highlight_lines(path: str, text: str) -> list[str]:
    """The file's lines as HTML, one string per line (the template numbers them)."""
    if len(text) > MAX_HIGHLIGHT_BYTES:
        return [html.escape(line) for line in text.splitlines()]
    out: str = highlight(text, lexer_for_file(path), _BLOCK)
    return out.splitlines()
