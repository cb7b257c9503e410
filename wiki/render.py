"""Markdown in, sanitized HTML out: the one door to markdown-it-py, its plugins, Pygments,
PyYAML and nh3.

A page renders to a `Rendered` value. Rendering is pure in the page text, so the cache is keyed
by the git blob id (plus RENDERER_VERSION, in the directory name) and never needs invalidating.
Which linked pages exist changes independently of the blob, so cached HTML carries no "missing
page" marks; `Renderer.mark_missing` adds them per request with a string replace.
"""

import copy
import datetime
import html
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import nh3
import yaml
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from wiki import paths
from wiki.errors import InvalidPath

log = logging.getLogger(__name__)

RENDERER_VERSION = "3"  # bump when output changes; part of cache keys

# markdown-it's own recursion guard (block and inline). Deeper structure is not parsed, which
# bounds both the Python stack and the work on hostile input; 20 is the CommonMark preset's
# value and still allows lists nested nine deep.
MAX_NESTING = 20
# Front matter is a few lines of metadata; anything bigger is not front matter but a way to
# make PyYAML work hard.
MAX_FRONT_MATTER_CHARS = 64 * 1024
MAX_META_NODES = 2000
MAX_META_DEPTH = 20
# Pygments lexers are regex machines; past this size a code block is shown unhighlighted.
MAX_HIGHLIGHT_CHARS = 100_000
# Longer than any page name (255 bytes) plus a label; bounds the scan for `]]` so that many
# unclosed `[[` stay linear.
MAX_WIKILINK_CHARS = 600
# Inline parsing runs every markdown-it rule at each character that might start markup; on
# hostile text that is tens of microseconds per character. Past this many such positions in
# one page, the rest of each paragraph is plain text. Real pages use a few thousand.
MAX_INLINE_STEPS = 30_000
# A run of `*`, `_` or `~` longer than this is text, not emphasis: 500k underscores around a
# letter would otherwise nest 250k <em><strong> deep and take seconds.
MAX_DELIMITER_RUN = 32
# Issue 12: bounds on the whole render, checked before markdown-it sees the text. Past any of
# them the page is shown as escaped text with a notice (Rendered.too_complex) instead.
# Table cells cost about 25 µs each to parse and render (5,000 columns of 2 MB took 23 s), and
# GFM pads short rows, so the count is columns times rows, not the `|` written.
MAX_TABLE_CELLS = 20_000
# nh3 (html5ever) takes time quadratic in the `&` of one text node: 200k took 4 s, 1 MB of `&#`
# 20 s. A page of prose or code has a few hundred.
MAX_AMPERSANDS = 20_000
# markdown-it silently drops what lies deeper than MAX_NESTING levels (a quote is one level, a
# list two); a line that opens that many containers falls back rather than losing its text.
MAX_LINE_NESTING = MAX_NESTING
MAX_INDENT = 400  # spaces or tabs before a line's text
# CPU seconds of the rendering thread for one render, checked inside markdown-it's block,
# inline and render loops. CPU time, not wall time: a page must not fall back (and be cached
# that way) because the server was busy. An ordinary 40 KB page takes about 0.1 s.
RENDER_CPU_SECONDS = 2.0
MAX_FALLBACK_LINKS = 5000
MAX_TAGS = 50
MAX_TAG_CHARS = 64
MAX_SLUG_CHARS = 80
TOC_LEVELS = range(1, 5)
LANGUAGES = frozenset({"en", "nl"})

_CACHE_KEY = re.compile(r"[0-9a-f]{4,64}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_SLUG_DROP = re.compile(r"[^\w\- ]")
_TAG_FORBIDDEN = frozenset("/\\<>\"'`")
_EXTERNAL_REL = "nofollow noopener"
_BUDGET = "kennis_inline_steps"
_CLOCK = "kennis_clock"  # env key: [deadline in thread CPU seconds, calls since the last look]
_CLOCK_EVERY = 256  # rule calls between two looks at the clock (each look is a system call)
# Heading ids carry this prefix (as on GitHub) so that a heading named like a DOM property or a
# form field cannot clobber `window.foo` or `document.foo` for the page's scripts (issue 12).
HEADING_ID_PREFIX = "user-content-"

# Runs of text at which no enabled inline rule can match, so the guard rule below can take
# them whole instead of letting every rule look at each character. Each alternative is the
# negation of what one rule needs; when in doubt a character is left to the real rules.
_INERT = r"""
    [^\n\\`~*_\[\]!<&^:@w]  # starts nothing (html, typographer, linkify are off)
  | !(?!\[)                # image needs `![`
  | \^(?!\[)               # inline footnote needs `^[`
  | &(?!\#?\w+;)           # entity needs `&name;` or `&#123;`
  | w(?!ww\.)              # GFM autolink needs `www.`
  | <(?![^<>]*>)           # autolink needs a `>` before the next `<`
"""
_INERT_RUN = re.compile(f"(?:{_INERT})+", re.VERBOSE)
# After the last `]` of a paragraph no link, image, footnote or wikilink can close, so `[`,
# `![` and `^[` are inert too.
_INERT_RUN_UNCLOSED = re.compile(f"(?:{_INERT}|[\\[!^])+", re.VERBOSE)
_REST = re.compile(".+", re.DOTALL)
_LONG_DELIMITER_RUN = re.compile(
    "|".join(f"{re.escape(c)}{{{MAX_DELIMITER_RUN + 1},}}" for c in "*_~")
)


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Rendered:
    html: str
    title: str | None
    tags: tuple[str, ...]
    lang: str | None
    toc: tuple[Heading, ...]
    links: tuple[str, ...]
    meta: dict = field(default_factory=dict)
    # True when the text exceeded a bound (MAX_* above, the time budget) and `html` is the
    # escaped text in a <pre>: the template says why.
    too_complex: bool = False
    # Set when the time budget (not a cap) caused the fallback. CPU time still varies a little
    # with the machine's load, so such a result is kept in memory only, never on disk: another
    # worker, or this one after a restart, tries again.
    timed_out: bool = False


# --- links -------------------------------------------------------------------------------


def page_href(name: str) -> str:
    return "/wiki/" + quote(name, safe="/")


def create_href(name: str) -> str:
    return "/edit/" + quote(name, safe="/")


def _wikilink_open(name: str) -> str:
    return f'<a class="wikilink" href="{page_href(name)}">'


_WIKILINK_OPEN = re.compile(r'<a class="wikilink" href="[^"]*">')


def _missing_open(name: str) -> str:
    return f'<a class="wikilink missing" href="{create_href(name)}">'


def _is_external(href: str) -> bool:
    """True unless the link stays on this site (fragment, query, path without a host)."""
    if href.startswith(("#", "?")):
        return False
    # `//host` and `/\host` are host-relative: browsers leave the site for both.
    if href.startswith(("//", "/\\", "\\")):
        return True
    return bool(_SCHEME.match(href))


# --- sanitizing ---------------------------------------------------------------------------

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "s", "section", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title", "class", "id"},  # id: footnote references
    "img": {"src", "alt", "title"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
    "code": {"class"},  # Pygments and language-* classes
    "pre": {"class"},
    "span": {"class"},
    "div": {"class"},
    "input": {"class", "checked"},  # task lists
    "ul": {"class"},
    "ol": {"class", "start"},
    "li": {"class", "id"},  # id: footnotes
    "sup": {"class"},
    "section": {"class"},
    "hr": {"class"},
    # Column alignment comes as a class (align-left/center/right): the Content-Security-Policy
    # forbids inline styles, so a style attribute would only raise violations in the browser.
    "th": {"class"},
    "td": {"class"},
}
_ATTRIBUTE_VALUES = {
    "input": {"type": {"checkbox"}},
    # Our renderer puts rel on external links itself (see _render_link_open); only that value
    # passes. nh3's link_rel cannot be used: it would add rel to wikilinks as well and break
    # the exact markup mark_missing looks for.
    "a": {"rel": {_EXTERNAL_REL}},
}


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        tag_attribute_values=_ATTRIBUTE_VALUES,
        # A checkbox in a page is always a picture of a task, never a form control.
        set_tag_attribute_values={"input": {"disabled": ""}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )


def sanitize(html_text: str) -> str:
    """Allow-list sanitizing: known tags and attributes; links http, https, mailto, relative."""
    return _cleaner().clean(html_text)


# --- front matter -------------------------------------------------------------------------

_FRONT_MATTER_END = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


class _TooComplex(ValueError):
    pass


def split_front_matter(text: str) -> tuple[dict, str]:
    """Split YAML front matter (between a first line `---` and the next `---` line) off.

    Invalid YAML, or YAML that is not a mapping, is not front matter: ({}, text unchanged).
    An empty block (`---` twice) is an empty mapping, as in Jekyll. Values are reduced to
    JSON types (dates become ISO strings) so that a cached result equals a fresh one.
    """
    first, newline, rest = text.removeprefix("\ufeff").partition("\n")
    if first.rstrip() != "---" or not newline:
        return {}, text
    end = _FRONT_MATTER_END.search(rest, 0, MAX_FRONT_MATTER_CHARS)
    if end is None:
        return {}, text
    try:
        loaded = yaml.safe_load(rest[: end.start()])
        meta = _plain(loaded, [MAX_META_NODES], 0)
    # The block is untrusted input and PyYAML's constructors raise more than YAMLError
    # (ValueError for `2024-13-45`, RecursionError for deep flow collections, ...).
    except Exception:  # noqa: BLE001
        return {}, text
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return {}, text
    return meta, rest[end.end() :].removeprefix("\n")


def _plain(value: Any, budget: list[int], depth: int) -> Any:
    """A JSON-safe copy of a YAML value; raises _TooComplex past a node or depth budget.

    The budget matters because YAML aliases let a few bytes describe an exponential tree
    ("billion laughs"), which would explode when serialized.
    """
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_META_DEPTH:
        raise _TooComplex()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime.date):  # also datetime
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v, budget, depth + 1) for v in value]
    return str(value)


def _clean_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        return ()
    tags: dict[str, None] = {}  # ordered set
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            continue
        tag = "-".join(str(item).lower().split())
        if _is_safe_tag(tag):
            tags[tag] = None
    return tuple(tags)[:MAX_TAGS]


def _is_safe_tag(tag: str) -> bool:
    return (
        0 < len(tag) <= MAX_TAG_CHARS
        and not any(char in _TAG_FORBIDDEN for char in tag)
        and not any(unicodedata.category(char).startswith(("C", "Z")) for char in tag)
    )


def _clean_lang(value: Any) -> str | None:
    if isinstance(value, str) and value.strip().lower() in LANGUAGES:
        return value.strip().lower()
    return None


def _clean_title(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        title = " ".join(str(value).split())
        return title or None
    return None


# --- bounds (issue 12) --------------------------------------------------------------------

# A GFM table's delimiter row (`|---|:-:|`), possibly inside quotes or indented in a list.
# No two neighbouring parts can both take a space, so a failing line costs linear time (an
# earlier `[ \t>]*\|?[ \t]*` took minutes on deeply indented lines).
_TABLE_DELIMITER_ROW = re.compile(
    r"^[ \t>]*(?:\|[ \t]*)?:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*(?:\|[ \t]*)?$", re.MULTILINE
)
_BLANK_LINE = re.compile(r"\n[ \t>]*(?:\n|\Z)")
# A line that opens many containers at once: `> > > …`, `- - - …`, `1. 1. …`.
_NESTED_LINE = re.compile(
    rf"^[ \t]*(?:(?:>|(?:[-+*]|\d{{1,9}}[.)])(?=[ \t]))[ \t]*){{{MAX_LINE_NESTING // 2},}}",
    re.MULTILINE,
)
# markdown-it scans leading whitespace one character at a time in Python, and content this far
# right is nested past MAX_NESTING anyway.
_DEEP_INDENT = re.compile(rf"^[ \t]{{{MAX_INDENT}}}", re.MULTILINE)
_LIST_MARKER = re.compile(r"(?:[-+*]|\d{1,9}[.)])(?=[ \t])")
_THEMATIC_BREAK = re.compile(r"[ \t]*([-*])(?:[ \t]*\1)*[ \t]*")
_FALLBACK_WIKILINK = re.compile(rf"\[\[([^\[\]\n]{{1,{MAX_WIKILINK_CHARS}}})\]\]")
_ATX_H1 = re.compile(r"^ {0,3}#[ \t]+([^\n]+)", re.MULTILINE)


class _OverBudget(Exception):
    """The render used up its CPU time; the page is shown as text instead."""


def _tick(env: dict) -> None:
    """Called from markdown-it's loops: every _CLOCK_EVERY calls, a look at the clock."""
    clock = env.get(_CLOCK)
    if clock is not None:
        clock[1] += 1
        if clock[1] >= _CLOCK_EVERY:
            clock[1] = 0
            _check_clock(env)


def _check_clock(env: dict) -> None:
    clock = env.get(_CLOCK)
    if clock is not None and time.thread_time() > clock[0]:
        raise _OverBudget()


def _table_cells(text: str) -> int:
    """An upper bound of the cells markdown-it would make: columns of each delimiter row times
    the rows up to the next blank line (short rows are padded, so written `|` undercount)."""
    cells, block_end = 0, 0
    for row in _TABLE_DELIMITER_ROW.finditer(text):
        if row.start() < block_end:  # a `|---|` line inside a table counted already
            continue
        pipes = row.group().count("|")
        if not pipes:
            continue
        blank = _BLANK_LINE.search(text, row.end())
        block_end = blank.start() if blank else len(text)
        rows = 1 + text.count("\n", row.end(), block_end)
        cells += (pipes + 1) * rows
        if cells > MAX_TABLE_CELLS:
            break
    return cells


def _nests_too_deep(text: str) -> bool:
    if _DEEP_INDENT.search(text):
        return True
    for line in _NESTED_LINE.finditer(text):
        markers = line.group()
        if _THEMATIC_BREAK.fullmatch(text, line.start(), _line_end(text, line.end())):
            continue  # `- - - - …` alone on its line is a rule, not nested lists
        lists = len(_LIST_MARKER.findall(markers))
        if markers.count(">") + 2 * lists >= MAX_LINE_NESTING:
            return True
    return False


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def exceeds_bounds(text: str) -> bool:
    """True when the Markdown is past a cap that is cheap to count before parsing."""
    return (
        text.count("&") > MAX_AMPERSANDS
        or _table_cells(text) > MAX_TABLE_CELLS
        or _nests_too_deep(text)
    )


def _fallback(meta: dict, body: str, timed_out: bool = False) -> Rendered:
    """The page as escaped text. Built without nh3 on purpose (nh3 is one of the slow parts),
    which is safe because html.escape leaves no markup at all."""
    links: dict[str, None] = {}
    for count, match in enumerate(_FALLBACK_WIKILINK.finditer(body)):
        if count >= MAX_FALLBACK_LINKS:
            break
        name = _page_name(match.group(1).partition("|")[0])
        if name is not None:
            links[name] = None
    h1 = _ATX_H1.search(body)
    first_h1 = h1.group(1).strip().rstrip("#").strip()[:200] if h1 else None
    return Rendered(
        html=f'<pre class="too-complex">{html.escape(body, quote=False)}</pre>',
        title=_clean_title(meta.get("title")) or _clean_title(first_h1),
        tags=_clean_tags(meta.get("tags")),
        lang=_clean_lang(meta.get("lang")),
        toc=(),
        links=tuple(links),
        meta=meta,
        too_complex=True,
        timed_out=timed_out,
    )


def _clock_block_rule(state, start_line: int, end_line: int, silent: bool) -> bool:
    """First block rule: never matches, only looks at the clock now and then."""
    _tick(state.env)
    return False


def _inline_core_rule(state) -> None:
    """markdown-it's core "inline" step with a look at the clock: a table of many small cells
    is that many separate inline parses, and empty ones never reach an inline rule."""
    for token in state.tokens:
        if token.type == "inline":
            _tick(state.env)
            if token.children is None:
                token.children = []
            state.md.inline.parse(token.content, state.md, state.env, token.children)


class _TimedRendererHTML(RendererHTML):
    """markdown-it's HTML renderer (the same loop) with a look at the clock per token."""

    def render(self, tokens, options, env) -> str:
        out: list[str] = []
        for i, token in enumerate(tokens):
            _tick(env)
            if token.type == "inline":
                if token.children:
                    out.append(self.renderInline(token.children, options, env))
            elif token.type in self.rules:
                out.append(self.rules[token.type](tokens, i, options, env))
            else:
                out.append(self.renderToken(tokens, i, options, env))
        return "".join(out)


# --- markdown-it extensions ---------------------------------------------------------------


def _guard_rule(state, silent: bool) -> bool:
    """First inline rule: takes inert text in bulk and enforces MAX_INLINE_STEPS.

    Without it 1 MB of `<!--` or 100k `[[` take tens of seconds: markdown-it-py tries each
    rule at each such character (and link labels rescan ahead of every `[`).
    """
    _tick(state.env)
    src, pos, end = state.src, state.pos, state.posMax
    # state.cache is markdown-it's per-paragraph memo of int positions; a str key cannot clash.
    cache_key = f"last]{end}"
    last_close = state.cache.get(cache_key)
    if last_close is None:
        last_close = state.cache[cache_key] = src.rfind("]", 0, end)
    inert = _INERT_RUN if pos < last_close else _INERT_RUN_UNCLOSED
    match = inert.match(src, pos, end) or _LONG_DELIMITER_RUN.match(src, pos, end)
    if match is None:
        steps = state.env.get(_BUDGET, MAX_INLINE_STEPS)
        if steps > 0:
            state.env[_BUDGET] = steps - 1
            return False  # let the real rules look at this character
        match = _REST.match(src, pos, end)  # out of steps: the rest is plain text
    if not silent:
        state.append_pending(match.group())
    state.pos = match.end()
    return True


def _wikilink_rule(state, silent: bool) -> bool:
    """Inline rule for `[[Page]]` and `[[Team/Page|label]]`, tried before the link rule."""
    src, start = state.src, state.pos
    if not src.startswith("[[", start):
        return False
    end = src.find("]]", start + 2, min(start + 2 + MAX_WIKILINK_CHARS, state.posMax))
    if end < 0:
        return False
    inner = src[start + 2 : end]
    if "\n" in inner or "[" in inner:
        return False
    if not silent:
        target, _, label = inner.partition("|")
        name = _page_name(target)
        # An invalid target, or a wikilink inside a link's text (no nested anchors), stays
        # visible as the text the author typed.
        if name is None or state.linkLevel > 0:
            token = state.push("text", "", 0)
            token.content = src[start : end + 2]
        else:
            token = state.push("wikilink", "a", 0)
            token.content = " ".join(label.split()) or target.strip()
            token.meta = {"name": name}
    state.pos = end + 2
    return True


def _page_name(target: str) -> str | None:
    try:
        return paths.normalize(target)
    except InvalidPath:
        return None


def _render_wikilink(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    # Escaped the way nh3's serializer escapes text, so the whole string survives sanitize().
    label = html.escape(token.content, quote=False).replace("\xa0", "&nbsp;")
    return f"{_wikilink_open(token.meta['name'])}{label}</a>"


def _render_link_open(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    if _is_external(str(token.attrGet("href") or "")):
        token.attrSet("rel", _EXTERNAL_REL)
    return self.renderToken(tokens, idx, options, env)


# Looking a lexer up and building a formatter (its style sheet) cost about 3 ms per code block,
# most of a code-heavy page's render; both are reusable and keep no state between calls.
@lru_cache(maxsize=128)
def _lexer(lang: str):
    try:
        return get_lexer_by_name(lang, stripnl=False)
    except ClassNotFound:
        return None


@cache
def _formatter() -> HtmlFormatter:
    return HtmlFormatter(nowrap=True)


def _highlight(code: str, lang: str, attrs: str) -> str:
    """Pygments for fenced code; "" tells markdown-it to fall back to plain escaped text."""
    if not lang or len(code) > MAX_HIGHLIGHT_CHARS:
        return ""
    lexer = _lexer(lang.lower())
    if lexer is None:
        return ""
    body = highlight(code, lexer, _formatter())
    css_lang = html.escape(lang, quote=True)
    return f'<pre><code class="highlight language-{css_lang}">{body}</code></pre>'


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {
            "html": False,  # raw HTML shows as text; nh3 still checks everything after
            "maxNesting": MAX_NESTING,
            "highlight": _highlight,
            "tasklists": True,
            "tasklists_editable": False,
        },
        renderer_cls=_TimedRendererHTML,
    )
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    # Bare URLs without linkify-it-py: the GFM autolink extension is self-contained.
    md.use(gfm_autolink_plugin)
    md.block.ruler.before(md.block.ruler.get_all_rules()[0], "clock", _clock_block_rule)
    md.core.ruler.at("inline", _inline_core_rule)
    md.inline.ruler.before("text", "guard", _guard_rule)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("th_open", _render_cell_open)
    md.add_render_rule("td_open", _render_cell_open)
    return md


# Relative links to a page's files (Renderer.link_files): `<img src="x.png">`, `<a href="x.pdf">`
# with a file name (an extension, no folder, scheme, query or fragment), never a page (`.md`).
_FILE_TAG = re.compile(r"<(img|a)\s[^>]*>")
_FILE_ATTR = re.compile(r'\s(src|href)="([^"]*)"')
_FILE_ALT = re.compile(r'\salt="([^"]*)"')
_FILE_NAME = re.compile(r"(?:\./)?([^/?#:\\]+\.[A-Za-z0-9]{1,10})")


def _file_target(value: str) -> str | None:
    match = _FILE_NAME.fullmatch(unquote(html.unescape(value)))
    if match is None or match.group(1).lower().endswith(paths.PAGE_SUFFIX):
        return None
    return unicodedata.normalize("NFC", match.group(1))


_ALIGN = re.compile(r"text-align:(left|center|right)")


def _render_cell_open(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    match = _ALIGN.fullmatch(str(token.attrGet("style") or ""))
    token.attrs.pop("style", None)
    if match:
        token.attrSet("class", f"align-{match.group(1)}")
    return self.renderToken(tokens, idx, options, env)


# --- headings ------------------------------------------------------------------------------


def _inline_text(inline: Token) -> str:
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline", "wikilink"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline_text(child))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _slugify(text: str) -> str:
    slug = _SLUG_DROP.sub("", text.lower()).strip().replace(" ", "-")
    return slug[:MAX_SLUG_CHARS].strip("-") or "section"


def _unique(slug: str, used: dict[str, int]) -> str:
    """slug, slug-1, slug-2, ...; `used` maps each id to the last suffix tried for it, so
    a page of 50k identical headings stays linear."""
    n = used.get(slug, 0)
    candidate = slug if n == 0 else f"{slug}-{n}"
    while candidate in used:
        n += 1
        candidate = f"{slug}-{n}"
    used[slug] = n
    used.setdefault(candidate, 0)
    return candidate


def _anchor_headings(tokens: list[Token]) -> list[Heading]:
    """Give every heading a unique id and a ¶ permalink; return them in document order.

    Ids are HEADING_ID_PREFIX + slug; the page's own links to `#slug` are pointed at them
    (kennis.js does the same for addresses typed or bookmarked as `/wiki/Page#slug`).
    """
    headings: list[Heading] = []
    used: dict[str, int] = {}
    slugs: set[str] = set()
    for open_token, inline in zip(tokens, tokens[1:], strict=False):
        if open_token.type != "heading_open" or inline.type != "inline":
            continue
        text = _inline_text(inline)
        slug = _unique(_slugify(text), used)
        slugs.add(slug)
        anchor = HEADING_ID_PREFIX + slug
        open_token.attrSet("id", anchor)
        link = Token("link_open", "a", 1, attrs={"class": "anchor", "href": f"#{anchor}"})
        inline.children = [
            *(inline.children or ()),
            Token("text", "", 0, content=" "),
            link,
            Token("text", "", 0, content="¶"),
            Token("link_close", "a", -1),
        ]
        headings.append(Heading(int(open_token.tag[1]), anchor, text))
    if slugs:
        _point_fragments_at_headings(tokens, slugs)
    return headings


def _point_fragments_at_headings(tokens: list[Token], slugs: set[str]) -> None:
    """`[see below](#setup)` keeps working without JavaScript: a fragment naming one of the
    page's headings gets the prefix. Other fragments (footnotes `#fn1`) stay as written."""
    for token in tokens:
        for child in token.children or ():
            if child.type != "link_open":
                continue
            href = str(child.attrGet("href") or "")
            if href.startswith("#") and unquote(href[1:]) in slugs:
                child.attrSet("href", "#" + HEADING_ID_PREFIX + href[1:])


def _wikilink_targets(tokens: list[Token]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for token in tokens:
        for child in token.children or ():
            if child.type == "wikilink":
                names[child.meta["name"]] = None
    return tuple(names)


# --- the renderer --------------------------------------------------------------------------


class Renderer:
    """Renders pages; thread-safe. Results for a cache key are kept in memory and on disk."""

    def __init__(self, cache_dir: Path | None = None, memory_items: int = 2000,
                 cpu_seconds: float | None = RENDER_CPU_SECONDS):
        self._md = _build_markdown()
        self._cpu_seconds = cpu_seconds  # None: no time budget (tests, offline tools)
        self._disk = Path(cache_dir) / "render" / RENDERER_VERSION if cache_dir else None
        self._memory_items = memory_items
        self._memory: OrderedDict[str, Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, text: str, cache_key: str | None = None) -> Rendered:
        if cache_key is None:
            return self._render(text)
        rendered = self._recall(cache_key)
        if rendered is None:
            path = self._cache_path(cache_key)
            rendered = _read_cache(path) if path else None
            if rendered is None:
                rendered = self._render(text)
                if path and not rendered.timed_out:
                    _write_cache(path, rendered)
            self._remember(cache_key, rendered)
        # meta is a mutable dict: a caller changing it must not change the cached copy.
        return replace(rendered, meta=copy.deepcopy(rendered.meta))

    def cached(self, cache_key: str) -> Rendered | None:
        """The rendering stored for this key (memory, then disk), or None: lets a page view
        skip reading the blob from git at all."""
        rendered = self._recall(cache_key)
        if rendered is None:
            path = self._cache_path(cache_key)
            rendered = _read_cache(path) if path else None
            if rendered is not None:
                self._remember(cache_key, rendered)
        return rendered

    def mark_missing(self, html_text: str, missing: Iterable[str]) -> str:
        """Point wikilinks to missing pages at the editor instead of the page (one pass: a
        page of thousands of missing links is viewed as fast as one with a few)."""
        marked = {_wikilink_open(name): _missing_open(name) for name in missing}
        if not marked:
            return html_text
        return _WIKILINK_OPEN.sub(lambda m: marked.get(m[0], m[0]), html_text)

    def link_files(self, html_text: str, resolve, missing_href: str) -> str:
        """Point relative links and images such as `![alt](photo.png)` at the page's attached
        files: `resolve(file_name)` gives a file's address or None when it is missing.

        Done per view with the page's name and current files, like mark_missing, so the cache
        stays keyed by blob id. A missing image becomes its alt text marked as missing, a
        missing file link leads to `missing_href` (the page's attachments).
        """
        if "=\"" not in html_text:
            return html_text

        def swap(match: re.Match) -> str:
            tag = match.group(0)
            attr = _FILE_ATTR.search(tag)
            if attr is None or attr.group(1) != ("src" if match.group(1) == "img" else "href"):
                return tag
            name = _file_target(attr.group(2))
            if name is None:
                return tag
            url = resolve(name)
            if url is not None:
                return tag[:attr.start(2)] + html.escape(url) + tag[attr.end(2):]
            if match.group(1) == "img":
                alt = _FILE_ALT.search(tag)
                label = html.unescape(alt.group(1)) if alt and alt.group(1) else name
                return (f'<span class="missing-file" title="{html.escape(name)}">'
                        f"{html.escape(label, quote=False)}</span>")
            return (tag[:attr.start(2)] + html.escape(missing_href) + tag[attr.end(2):]
                    ).replace("<a ", '<a class="missing-file" ', 1)

        return _FILE_TAG.sub(swap, html_text)

    def _render(self, text: str) -> Rendered:
        meta, body = split_front_matter(text)
        if exceeds_bounds(body):
            return _fallback(meta, body)
        env: dict = {}
        if self._cpu_seconds is not None:
            env[_CLOCK] = [time.thread_time() + self._cpu_seconds, 0]
        try:
            tokens = self._md.parse(body, env)
            headings = _anchor_headings(tokens)
            _check_clock(env)
            raw_html = self._md.renderer.render(tokens, self._md.options, env)
            _check_clock(env)
        except (_OverBudget, RecursionError):
            log.info("rendering took too long; showing %d characters as text", len(body))
            return _fallback(meta, body, timed_out=True)
        body_html = sanitize(raw_html)
        first_h1 = next((h.text for h in headings if h.level == 1 and h.text), None)
        return Rendered(
            html=body_html,
            title=_clean_title(meta.get("title")) or first_h1,
            tags=_clean_tags(meta.get("tags")),
            lang=_clean_lang(meta.get("lang")),
            toc=tuple(h for h in headings if h.level in TOC_LEVELS),
            links=_wikilink_targets(tokens),
            meta=meta,
        )

    def _cache_path(self, cache_key: str) -> Path | None:
        # The key becomes a file name, so only a plain hex blob id is accepted.
        if self._disk is None or not _CACHE_KEY.fullmatch(cache_key):
            return None
        return self._disk / cache_key[:2] / f"{cache_key}.json"

    def _recall(self, cache_key: str) -> Rendered | None:
        with self._lock:
            rendered = self._memory.get(cache_key)
            if rendered is not None:
                self._memory.move_to_end(cache_key)
            return rendered

    def _remember(self, cache_key: str, rendered: Rendered) -> None:
        if self._memory_items <= 0:
            return
        with self._lock:
            self._memory[cache_key] = rendered
            self._memory.move_to_end(cache_key)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)


# --- disk cache ----------------------------------------------------------------------------


def _to_json(rendered: Rendered) -> str:
    return json.dumps(
        {
            "html": rendered.html,
            "title": rendered.title,
            "tags": list(rendered.tags),
            "lang": rendered.lang,
            "toc": [[h.level, h.id, h.text] for h in rendered.toc],
            "links": list(rendered.links),
            "meta": rendered.meta,
            "too_complex": rendered.too_complex,
        },
        ensure_ascii=False,
        allow_nan=False,
    )


def _from_json(data: Any) -> Rendered:
    """Rebuild a Rendered, raising ValueError/TypeError/KeyError on anything unexpected."""
    rendered = Rendered(
        html=data["html"],
        title=data["title"],
        tags=tuple(data["tags"]),
        lang=data["lang"],
        toc=tuple(Heading(level, id_, text) for level, id_, text in data["toc"]),
        links=tuple(data["links"]),
        meta=data["meta"],
        too_complex=data["too_complex"],
    )
    strings = [rendered.html, *rendered.tags, *rendered.links]
    strings += [h.id for h in rendered.toc] + [h.text for h in rendered.toc]
    if not all(isinstance(s, str) for s in strings):
        raise TypeError("cache entry holds a non-string")
    if not all(isinstance(v, str | None) for v in (rendered.title, rendered.lang)):
        raise TypeError("cache entry has a bad title or lang")
    if not isinstance(rendered.meta, dict) or not isinstance(rendered.too_complex, bool) or \
            not all(isinstance(h.level, int) for h in rendered.toc):
        raise TypeError("cache entry has bad meta or toc")
    return rendered


def _read_cache(path: Path) -> Rendered | None:
    """The cached result, or None when absent or unusable (it is then rendered again)."""
    try:
        return _from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("ignoring unreadable render cache file %s: %s", path, exc)
        return None


def _write_cache(path: Path, rendered: Rendered) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a file."""
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(_to_json(rendered))
        os.replace(tmp_name, path)
        tmp_name = None
    except (OSError, ValueError) as exc:
        # The cache is derived data: failing to write it must not fail the page.
        log.warning("could not write render cache file %s: %s", path, exc)
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
