"""wiki/render.py: Markdown to sanitized HTML, metadata, wikilinks and the render cache."""

import json
import re
from html import escape
from html.parser import HTMLParser

import pytest

from wiki import render
from wiki.render import (
    Heading,
    Rendered,
    Renderer,
    create_href,
    page_href,
    sanitize,
    split_front_matter,
)


@pytest.fixture
def renderer():
    return Renderer()


def html_of(renderer, text):
    return renderer.render(text).html


class _LiveHtml(HTMLParser):
    """Collects what a browser would act on: tags, event handlers, URLs."""

    URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.handlers, self.urls = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name in self.URL_ATTRS:
                self.urls.append(value or "")

    handle_startendtag = handle_starttag


def assert_harmless(html):
    parser = _LiveHtml()
    parser.feed(html)
    parser.close()
    assert not {"script", "iframe", "object", "embed", "style", "form"} & set(parser.tags)
    assert parser.handlers == []
    for url in parser.urls:
        scheme = "".join(url.split()).lower()
        assert not scheme.startswith(("javascript:", "vbscript:", "data:")), url


# --- Markdown features ---------------------------------------------------------------------


def test_commonmark_basics(renderer):
    html = html_of(renderer, "Some *emphasis* and **strong** text.\n\n- one\n- two\n")
    assert "<em>emphasis</em>" in html
    assert "<strong>strong</strong>" in html
    assert "<li>two</li>" in html


def test_raw_html_is_shown_as_text(renderer):
    html = html_of(renderer, "A <b>bold</b> claim\n\n<div>block</div>\n")
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>" not in html and "<div>" not in html


def test_tables(renderer):
    html = html_of(renderer, "| a | b |\n|--:|---|\n| 1 | 2 |\n")
    assert "<table>" in html and "<th" in html and ">1</td>" in html


def test_strikethrough(renderer):
    assert "<s>gone</s>" in html_of(renderer, "~~gone~~")


def test_task_list_checkboxes_are_disabled(renderer):
    html = html_of(renderer, "- [ ] todo\n- [x] done\n")
    parser = _LiveHtml()
    parser.feed(html)
    assert parser.tags.count("input") == 2
    assert html.count("disabled") == 2
    assert html.count("checked") == 1


def test_footnotes(renderer):
    html = html_of(renderer, "Claim.[^1]\n\n[^1]: The source.\n")
    assert 'href="#fn1"' in html
    assert 'id="fn1"' in html
    assert "The source." in html


def test_bare_urls_become_links(renderer):
    html = html_of(renderer, "See https://example.org/a?b=1 and www.example.com now.")
    assert 'href="https://example.org/a?b=1"' in html
    assert 'href="http://www.example.com"' in html


def test_external_links_get_rel_internal_links_do_not(renderer):
    html = html_of(renderer, "[out](https://example.org) [in](/wiki/Home)")
    assert '<a href="https://example.org" rel="nofollow noopener">out</a>' in html
    assert '<a href="/wiki/Home">in</a>' in html


def test_fenced_code_is_highlighted(renderer):
    html = html_of(renderer, '```python\ndef f():\n    return "<x>"\n```\n')
    assert '<code class="highlight' in html
    assert "<span" in html
    assert "&lt;x&gt;" in html and "<x>" not in html


def test_fenced_code_with_unknown_language_is_escaped_text(renderer):
    html = html_of(renderer, "```nosuchlanguage\n<b>hi</b>\n```\n")
    assert "&lt;b&gt;hi&lt;/b&gt;" in html
    assert "<span" not in html


def test_headings_get_unique_ids_and_a_toc(renderer):
    result = renderer.render("# Intro\n\n## Setup\n\n## Setup\n\n##### Deep\n\n# Intro\n")
    ids = [heading.id for heading in result.toc]
    assert ids == ["user-content-intro", "user-content-setup", "user-content-setup-1",
                   "user-content-intro-1"]  # level 5 is not in the TOC
    assert [heading.level for heading in result.toc] == [1, 2, 2, 1]
    for heading_id in ids:
        assert f'id="{heading_id}"' in result.html
        assert f'<a class="anchor" href="#{heading_id}">' in result.html  # the ¶ permalink
    assert result.toc[1] == Heading(2, "user-content-setup", "Setup")


@pytest.mark.parametrize("name", ["forms", "cookie", "getElementById", "body", "location"])
def test_headings_cannot_clobber_dom_names(renderer, name):
    """Issue 12: `<h2 id="forms">` would shadow `document.forms` for every script."""
    html = renderer.render(f"## {name}\n").html
    assert f'id="user-content-{name.lower()}"' in html
    assert f'id="{name.lower()}"' not in html


def test_links_to_headings_of_the_page_follow_the_prefix(renderer):
    html = renderer.render(
        "[down](#setup) [fn](#fn1) [gone](#nowhere) [out](https://x.org/#setup)"
        " [café](#caf%C3%A9)\n\n## Setup\n\n## Café\n"
    ).html
    assert 'href="#user-content-setup"' in html
    assert 'href="#user-content-caf%C3%A9"' in html
    assert 'href="#fn1"' in html  # footnotes and unknown fragments are left as written
    assert 'href="#nowhere"' in html
    assert 'href="https://x.org/#setup"' in html


def test_heading_ids_do_not_clash_with_footnote_ids(renderer):
    result = renderer.render("# fn1\n\nText[^1]\n\n[^1]: note\n")
    ids = re.findall(r'\bid="([^"]*)"', result.html)
    assert result.toc[0].id == "user-content-fn1"
    assert "fn1" in ids
    assert len(ids) == len(set(ids))


def test_many_identical_headings(renderer):
    result = renderer.render("# Same\n\n" * 2000)
    assert len({heading.id for heading in result.toc}) == 2000


# --- front matter --------------------------------------------------------------------------


def test_front_matter_is_parsed_and_removed(renderer):
    text = "---\ntitle: Hello\ntags: [Alpha, beta]\nlang: nl\nowner: ann\n---\n# Heading\n"
    result = renderer.render(text)
    assert result.title == "Hello"
    assert result.tags == ("alpha", "beta")
    assert result.lang == "nl"
    assert result.meta["owner"] == "ann"
    assert "owner" not in result.html and "Heading" in result.html


def test_title_falls_back_to_first_level_one_heading(renderer):
    assert renderer.render("## Sub\n\n# Main title\n\n# Other\n").title == "Main title"
    assert renderer.render("Just text.").title is None


def test_tags_from_a_comma_separated_string_are_cleaned():
    result = Renderer().render(
        # A YAML escape puts a control character (BEL) into one tag.
        '---\ntags: " Foo , foo, bar baz, a/b, , x\\x07y, ' + "l" * 200 + '"\n---\nbody'
    )
    assert result.tags == ("foo", "bar-baz")


def test_lang_must_be_a_known_language(renderer):
    assert renderer.render("---\nlang: EN\n---\n").lang == "en"
    assert renderer.render("---\nlang: de\n---\n").lang is None


@pytest.mark.parametrize(
    "text",
    [
        "---\ntitle: [unclosed\n---\nbody\n",  # invalid YAML
        "---\n- a list\n---\nbody\n",  # not a mapping
        "---\njust: text\n",  # never closed
        "---\ndate: 2024-13-45\n---\nbody\n",  # PyYAML raises ValueError
        "---\n" + "[" * 5000 + "\n---\nbody\n",  # deep nesting
    ],
)
def test_invalid_front_matter_leaves_the_text_alone(text):
    assert split_front_matter(text) == ({}, text)


def test_front_matter_alias_bomb_is_refused():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n"
    for name, prev in zip("bcdefg", "abcdef", strict=True):
        bomb += f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    meta, _body = split_front_matter(f"---\n{bomb}---\nbody\n")
    assert meta == {}


def test_front_matter_values_are_json_safe():
    meta, body = split_front_matter("---\nwhen: 2024-01-02\nn: .inf\n---\nbody\n")
    assert meta == {"when": "2024-01-02", "n": "inf"}
    assert body == "body\n"
    json.dumps(meta, allow_nan=False)


# --- wikilinks -----------------------------------------------------------------------------


def test_page_and_create_hrefs_quote_names():
    assert page_href("Team/Über uns") == "/wiki/Team/%C3%9Cber%20uns"
    assert create_href("Team/Über uns") == "/edit/Team/%C3%9Cber%20uns"


def test_wikilinks(renderer):
    result = renderer.render("See [[Home]], [[Team/Über uns|the team]] and [[Home]] again.")
    assert '<a class="wikilink" href="/wiki/Home">Home</a>' in result.html
    assert '<a class="wikilink" href="/wiki/Team/%C3%9Cber%20uns">the team</a>' in result.html
    assert result.links == ("Home", "Team/Über uns")


def test_wikilink_targets_are_normalized(renderer):
    result = renderer.render("[[ /Team/Page.md/ ]]")
    assert result.links == ("Team/Page",)


@pytest.mark.parametrize("target", ["../etc/passwd", "a\\b", ".git/config", "x:y", " "])
def test_invalid_wikilink_targets_stay_text(renderer, target):
    result = renderer.render(f"before [[{target}]] after")
    assert result.links == ()
    assert "wikilink" not in result.html
    assert "before [[" in result.html


def test_wikilink_labels_are_escaped(renderer):
    result = renderer.render('[[Home|<script>alert("x")</script> & co]]')
    assert "&lt;script&gt;" in result.html
    assert_harmless(result.html)


def test_wikilink_markup_survives_sanitize(renderer):
    html = renderer.render('[[Team/Ä b|say "hi" & <bye>]]').html
    assert html == sanitize(html)
    assert '<a class="wikilink" href="/wiki/Team/%C3%84%20b">' in html


def test_mark_missing(renderer):
    result = renderer.render("[[Here]] and [[Team/Not here]]")
    marked = renderer.mark_missing(result.html, ["Team/Not here"])
    assert '<a class="wikilink" href="/wiki/Here">Here</a>' in marked
    assert (
        '<a class="wikilink missing" href="/edit/Team/Not%20here">'
        in marked
    )
    assert "/wiki/Team/Not%20here" not in marked
    assert renderer.mark_missing(result.html, []) == result.html


# --- sanitizing ----------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<iframe src=https://evil.example></iframe>",
    "<object data=x></object><embed src=x>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[x]: javascript:alert(1)\n\n[x]",
    "<javascript:alert(1)>",
    "```html\n<script>alert(1)</script>\n```",
    "<svg onload=alert(1)><style>*{}</style>",
    '[[Home|<img src=x onerror="alert(1)">]]',
    "# <script>alert(1)</script>",
    "| <script> | x |\n|---|---|\n| <iframe> | y |",
    "[^1]\n\n[^1]: <script>alert(1)</script>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_harmless(renderer, text):
    assert_harmless(renderer.render(text).html)


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>ok",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)" target="_blank">x</a>',
        '<img src="data:image/png;base64,AAAA">',
        "<iframe src=x></iframe><form action=x><input type=text></form>",
        '<p style="position:fixed" onclick="x()">x</p>',
    ],
)
def test_sanitize_removes_active_content(html):
    clean = sanitize(html)
    assert_harmless(clean)
    assert "target" not in clean and "position" not in clean


def test_sanitize_keeps_allowed_markup():
    html = '<p><a href="/wiki/A">a</a> <a href="mailto:x@example.org">m</a></p>'
    assert sanitize(html) == html


# --- caching -------------------------------------------------------------------------------

BLOB = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def count_renders(monkeypatch):
    calls = []
    original = Renderer._render

    def counting(self, text):
        calls.append(text)
        return original(self, text)

    monkeypatch.setattr(Renderer, "_render", counting)
    return calls


def test_memory_cache_hit_does_not_render_again(count_renders):
    renderer = Renderer()
    first = renderer.render("# Hi [[There]]", cache_key=BLOB)
    second = renderer.render("# Hi [[There]]", cache_key=BLOB)
    assert first == second
    assert len(count_renders) == 1


def test_no_cache_key_means_no_caching(count_renders):
    renderer = Renderer()
    renderer.render("text")
    renderer.render("text")
    assert len(count_renders) == 2


def test_cached_meta_cannot_be_changed_by_a_caller():
    renderer = Renderer()
    renderer.render("---\nowner: ann\n---\n", cache_key=BLOB).meta["owner"] = "mallory"
    assert renderer.render("", cache_key=BLOB).meta == {"owner": "ann"}


def test_memory_cache_is_bounded(count_renders):
    renderer = Renderer(memory_items=2)
    for key in ("aaaa", "bbbb", "cccc", "aaaa"):
        renderer.render("x", cache_key=key)
    assert len(count_renders) == 4  # aaaa was evicted by cccc


def test_disk_cache_survives_a_new_renderer(tmp_path, count_renders):
    text = "---\ntitle: T\ntags: a\n---\n# H\n\n[[Link]]"
    first = Renderer(cache_dir=tmp_path).render(text, cache_key=BLOB)
    path = tmp_path / "render" / render.RENDERER_VERSION / BLOB[:2] / f"{BLOB}.json"
    assert path.is_file()
    second = Renderer(cache_dir=tmp_path).render("ignored: comes from disk", cache_key=BLOB)
    assert second == first
    assert isinstance(second, Rendered)
    assert len(count_renders) == 1


def test_corrupt_disk_cache_is_ignored_and_rewritten(tmp_path):
    path = tmp_path / "render" / render.RENDERER_VERSION / BLOB[:2] / f"{BLOB}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"html": 3, \xff')
    result = Renderer(cache_dir=tmp_path).render("# Fresh", cache_key=BLOB)
    assert result.title == "Fresh"
    assert json.loads(path.read_text(encoding="utf-8"))["title"] == "Fresh"


@pytest.mark.parametrize("key", ["../../escape", "ABCDEF12", "abc", "a" * 65, "abcd/../x"])
def test_non_hex_cache_keys_never_touch_the_disk(tmp_path, key):
    result = Renderer(cache_dir=tmp_path).render("# Hi", cache_key=key)
    assert result.title == "Hi"
    assert list(tmp_path.rglob("*")) == []


# --- pathological input --------------------------------------------------------------------

MB = 1_000_000


@pytest.mark.parametrize(
    "text",
    [
        "<!--" * (MB // 4),
        ">" * MB,
        "> " * (MB // 2),
        "[[" * 100_000,
        "[[" * 100_000 + "]]",
        "\n".join("  " * depth + "- item" for depth in range(500)),
        "*a " * 50_000 + "b" + " a*" * 50_000,
        "_" * (MB // 2) + "a" + "_" * (MB // 2),
        "[" * 50_000 + "a" + "](b)" * 50_000,
        "&amp;" * 100_000,
    ],
    ids=["comments", "quotes", "spaced-quotes", "wikilink-openers", "closed-openers",
         "nested-list", "nested-emphasis", "underscores", "nested-links", "entities"],
)
def test_pathological_input_renders_with_bounded_output(renderer, text):
    result = renderer.render(text)
    assert len(result.html) < 10 * len(text) + 1000
    assert_harmless(result.html)


def test_many_missing_links_are_each_marked_and_existing_ones_left_alone(renderer):
    html = renderer.render(" ".join(f"[[Gone {i}]] [[Here]]" for i in range(300))).html
    marked = renderer.mark_missing(html, [f"Gone {i}" for i in range(300)])
    assert marked.count('class="wikilink missing"') == 300
    assert marked.count('<a class="wikilink" href="/wiki/Here">') == 300


# --- render bounds (issue 12) -----------------------------------------------------------------

NOTICE_PRE = '<pre class="too-complex">'


def wide_table(columns=5000, size=2 * MB):
    header = "|" + "|".join(f" c{i} " for i in range(columns)) + "|\n"
    rule = "|" + "|".join("---" for _ in range(columns)) + "|\n"
    row = "|" + "|".join(" x " for _ in range(columns)) + "|\n"
    return header + rule + row * max(1, (size - len(header) - len(rule)) // len(row))


def assert_shown_as_text(result, text):
    """The escaped-text fallback: the page's own text, escaped, in one <pre>, flagged."""
    assert result.too_complex
    assert result.html == NOTICE_PRE + escape(text, quote=False) + "</pre>"
    assert result.toc == ()
    assert_harmless(result.html)


@pytest.mark.parametrize(
    "text",
    [
        wide_table(),
        "&#" * (MB // 2),
        "&amp;" * (MB // 5),
        ">" * 10_000 + " deep\n",
        "> " * 10_000 + "deep\n",
        "- " * 10_000 + "deep\n",
        "1. " * 10_000 + "deep\n",
        "- a\n" + " " * 5000 + "- deep\n",
        "| a |\n|---|\n" + "x\n" * 30_000,  # one column of 30k rows
        "| a |\n|" + "-|" * 30_000 + "\n" + "x\n" * 2,  # short rows are padded to 30k cells
    ],
    ids=["table-5000-columns-2MB", "entity-openers-1MB", "entities-1MB", "quotes-10000",
         "spaced-quotes-10000", "list-levels-10000", "ordered-levels-10000", "indented-5000",
         "long-table", "padded-rows"],
)
def test_input_past_the_bounds_is_shown_as_escaped_text(renderer, text):
    assert_shown_as_text(renderer.render(text), text)


def test_the_fallback_escapes_markup_and_keeps_metadata_and_links(renderer):
    body = "# Big table\n\n<script>alert(1)</script> [[Team/Plan|the plan]] " + "&" * 30_000
    result = renderer.render("---\ntags: [Data]\nlang: nl\n---\n" + body)
    assert_shown_as_text(result, body)
    assert "&lt;script&gt;" in result.html
    assert result.title == "Big table"
    assert result.tags == ("data",)
    assert result.lang == "nl"
    assert result.links == ("Team/Plan",)


@pytest.mark.parametrize(
    "text",
    [
        "| a | b |\n|---|:-:|\n" + "| 1 | 2 |\n" * 2000,  # 6k cells
        ">" * 19 + " deep quote\n",
        "- " * 9 + "deep list\n",
        "- - - - - - - - - - - - - - - - - - - - - - - -\n",  # a thematic break
        "R&D and Q&A & more &amp; " * 500,
        "```python\n" + "    x = 1\n" * 300 + "```\n",
        "| " + "c | " * 300 + "\n|" + "-|" * 300 + "\n\n" + "text\n" * 1000,
    ],
    ids=["table", "quotes", "lists", "rule", "ampersands", "indented-code", "wide-header"],
)
def test_ordinary_pages_under_the_bounds_render_formatted(renderer, text):
    result = renderer.render(text)
    assert not result.too_complex
    assert NOTICE_PRE not in result.html


def test_the_deep_quote_keeps_its_text_and_the_deep_list_too(renderer):
    assert "deep quote" in renderer.render(">" * 19 + " deep quote\n").html
    assert "deep list" in renderer.render("- " * 9 + "deep list\n").html


def test_out_of_time_shows_the_text():
    text = "# Title\n\n" + "Some *text* with [a link](https://example.org).\n\n" * 50
    assert_shown_as_text(Renderer(cpu_seconds=0).render(text), text)
    assert not Renderer(cpu_seconds=None).render(text).too_complex


def test_the_clock_stops_a_render_inside_markdown_it(monkeypatch):
    """The budget is checked while markdown-it parses, not only once it is done: a hostile page
    under the caps cannot run its whole parse first."""
    clock = iter([0.0])  # the deadline is set at 0 + 1 s; every later look says 10 s passed
    monkeypatch.setattr(render.time, "thread_time", lambda: next(clock, 10.0))
    renderer = Renderer(cpu_seconds=1.0)
    rendered_tokens = []
    original = renderer._md.renderer.render
    monkeypatch.setattr(renderer._md.renderer, "render",
                        lambda *args: rendered_tokens.append(1) or original(*args))
    text = "para\n\n" * 2000
    assert renderer.render(text).too_complex
    assert rendered_tokens == []  # stopped in the parse: HTML rendering never started


def test_a_render_well_within_the_budget_is_not_cut_short(monkeypatch):
    monkeypatch.setattr(render.time, "thread_time", lambda: 5.0)  # no time passes at all
    assert not Renderer(cpu_seconds=1.0).render("para\n\n" * 2000).too_complex


def test_the_fallback_is_cached_like_any_rendering(tmp_path, count_renders):
    text = "&" * 30_000
    Renderer(cache_dir=tmp_path).render(text, cache_key="ab" * 20)
    again = Renderer(cache_dir=tmp_path).render(text, cache_key="ab" * 20)
    assert again.too_complex
    assert len(count_renders) == 1


def test_a_fallback_for_time_is_remembered_in_memory_but_not_written_to_disk(tmp_path,
                                                                           count_renders):
    text = "# Title\n\nSome *text*.\n"
    slow = Renderer(cache_dir=tmp_path, cpu_seconds=0)
    assert slow.render(text, cache_key="cd" * 20).too_complex
    assert slow.render(text, cache_key="cd" * 20).too_complex  # from memory
    assert len(count_renders) == 1
    assert list(tmp_path.rglob("*.json")) == []
    assert not Renderer(cache_dir=tmp_path).render(text, cache_key="cd" * 20).too_complex


def test_preview_bounds_hold_across_threads():
    """Two threads rendering at once: one past the budget, one ordinary; each gets its own
    outcome (the clock lives in the render's env, not in the shared parser)."""
    import threading

    slow, fast = Renderer(cpu_seconds=0), Renderer(cpu_seconds=None)
    results = {}
    text = "para *x*\n\n" * 3000

    def run(name, renderer):
        results[name] = renderer.render(text).too_complex

    threads = [threading.Thread(target=run, args=(n, r)) for n, r in (("slow", slow),
                                                                        ("fast", fast))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"slow": True, "fast": False}
