"""Heading ids carry `user-content-` (issue 12): the table of contents, the page's own `#links`
and addresses written without the prefix still reach the heading in a real browser."""

from playwright.sync_api import expect

from tests.e2e.test_browser import api_save, tab  # noqa: F401 - the fixture

FILLER = "\n\n".join(f"Paragraph {i} of filler text to push the headings apart." for i in range(60))
TEXT = (f"# Anchors\n\nJump to [the setup](#setup).\n\n## Forms\n\n{FILLER}\n\n"
        f"## Setup\n\n{FILLER}\n\n## Cookie\n\n{FILLER}\n")


def test_contents_links_and_unprefixed_addresses_reach_the_headings(tab, server):  # noqa: F811
    api_save(server, "alice", "Anchors", TEXT)
    tab.login("alice")
    page = tab.page

    page.goto("/wiki/Anchors#cookie")  # an old bookmark, without the prefix
    expect(page.locator("#user-content-cookie")).to_be_in_viewport()

    page.goto("/wiki/Anchors")
    page.locator("nav.toc a", has_text="Setup").click()
    expect(page.locator("#user-content-setup")).to_be_in_viewport()
    assert page.evaluate("location.hash") == "#user-content-setup"

    page.goto("/wiki/Anchors")
    page.locator(".page-content a", has_text="the setup").click()
    expect(page.locator("#user-content-setup")).to_be_in_viewport()

    page.evaluate("location.hash = '#forms'")  # typed into the address bar
    expect(page.locator("#user-content-forms")).to_be_in_viewport()

    # No heading shadows a DOM name any more.
    assert page.evaluate("window.forms === undefined && typeof document.forms.length")\
        == "number"
    tab.assert_no_js_errors()
