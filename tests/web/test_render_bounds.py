"""Issue 12: rendering is bounded everywhere Markdown is shown (preview, page views, old
revisions, comments), previews are rate-limited per user, and heading ids carry a prefix."""

import re

import pytest

from tests.conftest import PASSWORD, AuthActions, post_form
from wiki.config import SettingsError

NOTICE = "This page is too complex to show formatted; here is its text."
MB = 1_000_000


def wide_table(columns=5000, size=2 * MB):
    header = "|" + "|".join(f" c{i} " for i in range(columns)) + "|\n"
    rule = "|" + "|".join("---" for _ in range(columns)) + "|\n"
    row = "|" + "|".join(" x " for _ in range(columns)) + "|\n"
    return header + rule + row * max(1, (size - len(header) - len(rule)) // len(row))




@pytest.mark.parametrize("markdown", [wide_table(), "&#" * (MB // 2), "> " * 10_000 + "deep"],
                         ids=["table-5000-columns-2MB", "entity-openers-1MB", "quotes-10000"])
def test_a_reader_previewing_hostile_markdown_gets_the_text_with_a_notice(client, auth,
                                                                           markdown):
    auth.login("reader")
    response = post_form(client, "/preview", {"markdown": markdown})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert html.startswith(f'<p class="notice too-complex-notice">{NOTICE}</p>')
    assert '<pre class="too-complex">' in html
    assert "<table" not in html and "<blockquote" not in html


def test_an_ordinary_preview_has_no_notice(client, auth):
    auth.login("reader")
    html = post_form(client, "/preview", {"markdown": "| a |\n|---|\n| 1 |\n"}).get_json()["html"]
    assert "<table>" in html and NOTICE not in html


def test_a_saved_page_past_the_bounds_shows_its_text_with_a_notice(client, auth, make_page):
    text = "# Numbers\n\n<b>raw</b> " + "&#" * 30_000
    result = make_page("Data/Dump", text)
    auth.login("reader")
    for url in ("/wiki/Data/Dump", f"/rev/{result.revision}/Data/Dump"):
        page = client.get(url).get_data(as_text=True)
        assert NOTICE in page
        assert '<pre class="too-complex">' in page
        assert "&lt;b&gt;raw&lt;/b&gt;" in page and "<b>raw</b>" not in page
    assert "<title>Numbers" in client.get("/wiki/Data/Dump").get_data(as_text=True)
    assert NOTICE not in client.get("/wiki/Home").get_data(as_text=True)


def test_a_comment_past_the_bounds_shows_its_text(client, auth, make_page, token):
    make_page("Team/Plan")
    body = ">" * 10_000 + " deep <i>thought</i>"
    created = client.post("/api/v1/discussions/Team/Plan",
                          headers={"Authorization": f"Bearer {token('editor')}"},
                          json={"title": "Quotes", "body": body})
    assert created.status_code == 201
    html = created.get_json()["comments"][0]["html"]
    assert html.startswith('<pre class="too-complex">')
    assert "deep &lt;i&gt;thought&lt;/i&gt;" in html and "<blockquote" not in html


# --- preview rate limit ------------------------------------------------------------------------

def preview(client, text="*hi*"):
    return post_form(client, "/preview", {"markdown": text})


def test_previews_are_limited_per_user(make_app):
    app = make_app(preview_limit_per_user="3/minute")
    reader, bob = app.test_client(), app.test_client()
    AuthActions(reader).login("reader")
    AuthActions(bob).login("bob", PASSWORD)
    assert [preview(reader).status_code for _ in range(3)] == [200, 200, 200]
    refused = preview(reader)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert preview(bob).status_code == 200  # another user (same address) is not affected


def test_visitors_previews_are_limited_per_address(make_app):
    app = make_app(preview_limit_per_user="2/minute", anonymous_read=True)
    visitor = app.test_client()
    assert [preview(visitor).status_code for _ in range(3)] == [200, 200, 429]


def test_an_empty_preview_limit_means_none(make_app):
    app = make_app(preview_limit_per_user="")
    client = app.test_client()
    AuthActions(client).login("reader")
    assert {preview(client).status_code for _ in range(40)} == {200}


def test_a_bad_preview_limit_is_refused_at_start(make_app):
    with pytest.raises(SettingsError, match="preview_limit_per_user"):
        make_app(preview_limit_per_user="lots")


# --- heading ids -------------------------------------------------------------------------------

def test_contents_and_in_page_links_reach_the_prefixed_headings(client, auth, make_page):
    make_page("Guide", "# Guide\n\nSee [setup](#setup).\n\n## Forms\n\n## Setup\n\n## Cookie\n")
    auth.login("reader")
    page = client.get("/wiki/Guide").get_data(as_text=True)
    ids = set(re.findall(r'<h\d id="([^"]+)"', page))
    assert ids == {"user-content-guide", "user-content-forms", "user-content-setup",
                   "user-content-cookie"}
    toc = page.split('class="toc"', 1)[1].split("</nav>", 1)[0]
    assert set(re.findall(r'href="#([^"]+)"', toc)) == ids
    assert 'href="#user-content-setup">setup</a>' in page  # the page's own link
    assert 'id="forms"' not in page and 'id="cookie"' not in page
