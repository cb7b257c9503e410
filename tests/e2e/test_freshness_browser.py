"""A real browser: a reader flags a page, its owner hears of it, verifies it, the flag closes."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import Tab, api_save


@pytest.fixture
def tab(browser, server, tmp_path):
    tab = Tab(browser, server, tmp_path)
    yield tab
    tab.context.close()


def test_flag_reaches_the_owner_who_verifies_and_the_flag_closes(tab, server):
    api_save(server, "alice", "Policies/Leave",
             "---\nowner: user:alice\nreview_every: 1 year\n---\n# Leave\n\nTwenty days.\n")
    page = tab.page
    tab.login("bob")
    page.goto("/wiki/Policies/Leave")
    page.get_by_text("Outdated or wrong? Flag it").click()
    page.fill("input[name=reason]", "It is twenty-five days since May.")
    page.get_by_role("button", name="Flag", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("owner has been told")

    tab.context.clear_cookies()
    tab.login("alice")
    page.goto("/inbox")
    expect(page.locator("main")).to_contain_text("It is twenty-five days since May.")
    page.goto("/wiki/Policies/Leave")
    expect(page.locator(".freshness-flags")).to_contain_text("twenty-five days")
    page.get_by_role("button", name="Mark as verified").click()
    expect(page.locator(".freshness-verified")).to_contain_text("Verified by alice")
    expect(page.locator(".freshness-flags")).to_have_count(0)

    tab.context.clear_cookies()
    tab.login("bob")
    page.goto("/inbox")
    expect(page.locator("main")).to_contain_text("your flag is closed")
    tab.assert_no_js_errors()
