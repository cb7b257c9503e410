"""A real browser: start a discussion, reply to a comment, mention a colleague, resolve."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import Tab, api_save


@pytest.fixture
def tab(browser, server, tmp_path):
    tab = Tab(browser, server, tmp_path)
    yield tab
    tab.context.close()


def test_discuss_a_page_mention_a_colleague_and_resolve(tab, server):
    api_save(server, "alice", "Projects/Launch", "# Launch\n\nWe launch in May.\n")
    page = tab.page
    tab.login("alice")
    page.goto("/wiki/Projects/Launch")
    page.get_by_role("link", name="Discussion").click()
    page.fill("input[name=title]", "Which day in May?")
    box = page.locator("textarea[name=body]")
    box.click()
    box.press_sequentially("Any preference, @bo")
    suggestion = page.locator(".mention-list button", has_text="@bob")
    suggestion.click()  # the autocomplete completes the name
    expect(box).to_have_value("Any preference, @bob ")
    box.press_sequentially("?")
    page.get_by_role("button", name="Start discussion").click()
    expect(page.locator(".comment .comment-body")).to_contain_text("Any preference, @bob ?")

    thread_url = page.url
    tab.context.clear_cookies()
    tab.login("bob")
    # The server is shared with other tests whose edits bob watches: the mention shows up
    # in his unread count (a badge) and at the top of his inbox.
    expect(page.locator(".account .inbox .count")).to_have_text(re.compile(r"^\d+$"))
    page.goto("/inbox")
    expect(page.locator("main")).to_contain_text("Which day in May?")
    page.get_by_role("link", name="Which day in May?").click()
    page.locator(".comment a[data-reply-to]").first.click()
    expect(page.locator(".replying-to")).to_contain_text("alice")
    page.fill("textarea[name=body]", "The **12th**, please.")
    page.get_by_role("button", name="Post reply").click()
    reply = page.locator(".comment.reply")
    expect(reply).to_contain_text("replying to alice")
    expect(reply.locator(".comment-body strong")).to_have_text("12th")

    tab.context.clear_cookies()
    tab.login("alice")
    page.goto(thread_url)
    page.get_by_role("button", name="Mark resolved").click()
    expect(page.locator(".thread-title .badge")).to_have_text("resolved")
    page.goto("/discussion/Projects/Launch")
    expect(page.locator("details.resolved-threads summary")).to_have_text(
        re.compile("1 resolved discussion"))
    tab.assert_no_js_errors()
