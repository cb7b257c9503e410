"""A real browser, on a desktop and on a phone: ask a question, answer it, accept the answer,
and turn the solved question into a page (issue 18)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import Tab

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 740}}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_ask_answer_accept_and_turn_into_a_page(browser, server, tmp_path, size):
    tab = Tab(browser, server, tmp_path, viewport=SIZES[size])
    page = tab.page
    try:
        title = f"Where do I book a meeting room ({size})?"
        tab.login("alice")
        page.goto("/questions")
        page.get_by_role("link", name="Ask a question").click()
        page.fill("input[name=title]", title)
        page.fill("input[name=namespace]", "Office")
        page.fill("textarea[name=body]", "For **ten** people.")
        page.fill("input[name=tags]", "rooms")
        page.get_by_role("button", name="Ask", exact=True).click()
        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator(".question-body strong")).to_have_text("ten")
        question_url = page.url

        tab.context.clear_cookies()
        tab.login("bob")
        page.goto(question_url)
        page.fill("textarea[name=body]", "Use the *planner* on the intranet.")
        page.get_by_role("button", name="Post answer").click()
        expect(page.locator(".answer .comment-body em")).to_have_text("planner")
        tab.shot(f"question-answered-{size}")

        tab.context.clear_cookies()
        tab.login("alice")
        page.goto(question_url)
        page.get_by_role("button", name="Vote up").click()
        expect(page.locator(".answer .meta").first).to_contain_text("1 vote")
        page.get_by_role("button", name="Accept this answer").click()
        expect(page.locator(".answer.accepted .badge")).to_contain_text("Accepted answer")
        page.get_by_role("link", name="Turn into a page").click()
        expect(page.locator("textarea[name=markdown]")).to_have_value(
            "# " + title + "\n\nFor **ten** people.\n\n## Answer\n\nUse the *planner* on the "
            "intranet.\n\n*Answered by bob.*\n")
        page.fill("input[name=path]", f"Office/Booking rooms {size}")
        page.get_by_role("button", name="Create page").click()
        expect(page.locator("main")).to_contain_text("Use the planner on the intranet.")
        page.goto(question_url)
        expect(page.locator(".notice")).to_contain_text(f"Office/Booking rooms {size}")
        tab.assert_no_js_errors()
    finally:
        tab.context.close()
