"""A real headless Chromium against the running server: what an editor sees and does."""

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import git

WAIT = 20_000  # ms; the machine running the tests may be busy
PHONE = {"width": 375, "height": 740}
NO_PAGE_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"


class Tab:
    """One browser context and page, collecting JavaScript errors and taking screenshots."""

    def __init__(self, browser, server, shots, **options):
        self.server = server
        self.shots = shots
        self.context = browser.new_context(base_url=server.url, **options)
        self.context.set_default_timeout(WAIT)
        self.page = self.context.new_page()
        self.errors = []
        self.dialogs = []
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        # CSP violations and failed loads are reported by Chromium as console errors.
        self.page.on("console", lambda message: self.errors.append(
            f"console: {message.text} at {message.location}") if message.type == "error"
            else None)
        self.answer_dialogs = True
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.type)
        if self.answer_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    def login(self, user):
        page = self.page
        page.goto("/login")
        page.fill("#name", user)
        page.fill("#password", self.server.password(user))
        page.locator("form.narrow button[type=submit]").click()
        expect(page.locator(".account .who")).to_have_text(user)

    def shot(self, name):
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def assert_no_js_errors(self):
        assert self.errors == []


@pytest.fixture
def tab(browser, server, tmp_path):
    tab = Tab(browser, server, tmp_path)
    yield tab
    tab.context.close()


@pytest.fixture
def phone(browser, server, tmp_path):
    tab = Tab(browser, server, tmp_path, viewport=PHONE, device_scale_factor=2, is_mobile=True,
              has_touch=True)
    yield tab
    tab.context.close()


def api_save(server, user, name, markdown, message="setup"):
    response = requests.put(f"{server.url}/api/v1/pages/{name}", timeout=60,
                            json={"markdown": markdown, "message": message},
                            headers={"Authorization": f"Bearer {server.token(user)}"})
    assert response.status_code in (200, 201), response.text
    return response.json()["revision"]


def test_write_a_page_with_the_editor_then_compare_its_versions(tab, server):
    page = tab.page
    tab.login("alice")
    name = "E2E/Journey"
    first = "# Journey\n\nThe quick brown fox visits [[Other Page]] today.\n"

    page.goto(f"/edit/{name}")
    editor = page.locator("textarea#markdown")
    editor.click()
    editor.press_sequentially(first[:10])  # real keystrokes, then the rest at once
    editor.fill(first)
    preview = page.locator(".preview")
    expect(preview).to_contain_text("The quick brown fox visits Other Page today.", timeout=WAIT)
    expect(preview.locator("h1")).to_contain_text("Journey")
    expect(preview.locator("a.wikilink.missing")).to_have_text("Other Page")
    page.fill("#message", "first version")
    tab.shot("editor")
    editor.press("Control+S")
    page.wait_for_url(f"**/wiki/{name}")

    content = page.locator("main .page-content")
    expect(content).to_contain_text("The quick brown fox visits Other Page today.")
    missing = content.locator("a.wikilink.missing")
    expect(missing).to_have_text("Other Page")
    tab.shot("page")

    # A second version through the Edit tab and the Save button.
    page.locator("nav.tabs").get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/edit/{name}")
    expect(editor).to_have_value(first)
    editor.fill(first.replace("quick", "rapid"))
    page.fill("#message", "second version")
    page.locator("#editor button[type=submit]").click()
    page.wait_for_url(f"**/wiki/{name}")
    expect(content).to_contain_text("The rapid brown fox")

    page.locator("nav.tabs").get_by_role("link", name="History").click()
    page.wait_for_url(f"**/history/{name}")
    rows = page.locator("table.history-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("second version")
    expect(rows.nth(1)).to_contain_text("first version")
    expect(rows.nth(0)).to_contain_text("alice")
    tab.shot("history")

    page.get_by_role("button", name="Compare selected versions").click()
    page.wait_for_url(f"**/diff/{name}?*")
    diff = page.locator("table.diff")
    expect(diff.locator("del")).to_have_text(["quick"])
    expect(diff.locator("ins")).to_have_text(["rapid"])
    page.locator(".diff-summary").get_by_role("link", name="side by side").click()
    page.wait_for_url("**mode=side*")
    side = page.locator("table.diff.diff-side")
    expect(side.locator("del")).to_have_text(["quick"])
    expect(side.locator("ins")).to_have_text(["rapid"])
    tab.shot("diff")

    log = git(server.repo, "log", "-2", "--format=%an%x09%s", "--", "E2E/Journey.md").stdout
    assert log.splitlines() == ["alice\tsecond version", "alice\tfirst version"]
    assert tab.dialogs == []  # saving never asks "leave this page?"
    tab.assert_no_js_errors()


def test_a_draft_is_offered_back_and_leaving_unsaved_text_asks_first(tab, server):
    page = tab.page
    name = "E2E/Drafts"
    saved = "Saved text.\n"
    api_save(server, "alice", name, saved)
    tab.login("alice")

    page.goto(f"/edit/{name}")
    editor = page.locator("textarea#markdown")
    expect(editor).to_have_value(saved)
    expect(page.locator(".draft-offer")).to_be_hidden()
    key = page.locator("#editor").get_attribute("data-draft-key")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("Draft words.")
    drafted = saved + "Draft words."
    expect(editor).to_have_value(drafted)
    page.wait_for_function("key => (localStorage.getItem(key) || '').includes('Draft words')",
                           arg=key)

    # Reloading with unsaved text asks first; leaving anyway keeps the draft.
    page.reload()
    assert tab.dialogs == ["beforeunload"]
    expect(editor).to_have_value(saved)
    offer = page.locator(".draft-offer")
    expect(offer).to_be_visible()
    tab.shot("draft-offer")
    offer.locator(".restore-draft").click()
    expect(offer).to_be_hidden()
    expect(editor).to_have_value(drafted)

    # Leaving the editor with changes: staying keeps everything as it was...
    tab.answer_dialogs = False
    page.locator("#editor .actions").get_by_role("link", name="Cancel").click(no_wait_after=True)
    for _ in range(100):  # the dialog event arrives asynchronously
        if len(tab.dialogs) >= 2:
            break
        page.wait_for_timeout(100)
    assert tab.dialogs == ["beforeunload", "beforeunload"]
    assert f"/edit/{name}" in page.url
    expect(editor).to_have_value(drafted)
    # ... and leaving goes.
    tab.answer_dialogs = True
    page.locator("#editor .actions").get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"**/wiki/{name}")
    assert tab.dialogs == ["beforeunload"] * 3
    expect(page.locator("main .page-content")).to_have_text("Saved text.")

    # The draft is still offered; discarding it forgets it.
    page.goto(f"/edit/{name}")
    expect(offer).to_be_visible()
    offer.locator(".discard-draft").click()
    expect(offer).to_be_hidden()
    assert page.evaluate("key => localStorage.getItem(key)", key) is None
    expect(editor).to_have_value(saved)

    # Saving neither asks nor leaves a draft behind.
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("Saved words.")
    page.keyboard.press("Control+S")
    page.wait_for_url(f"**/wiki/{name}")
    expect(page.locator("main .page-content")).to_contain_text("Saved words.")
    assert tab.dialogs == ["beforeunload"] * 3
    assert page.evaluate("key => localStorage.getItem(key)", key) is None
    tab.assert_no_js_errors()


WIDE_PAGE = """\
# A page read on a phone

Some ordinary text that wraps over a few lines on a narrow screen, as text does.

A long address: https://intranet.example.org/departments/finance/reports/2026/quarterly/overview.html
and a long word: Arbeidsongeschiktheidsverzekeringsmaatschappijvoorwaardenoverzicht.

| Column one | Column two | Column three | Column four | Column five | Column six |
|---|---|---|---|---|---|
| some cell text | more cell text | even more text | and more | still more | the end |

```python
print("a long line of code that does not fit on a phone screen at all, not even close")
```

See [[E2E/Journey]] and [[Nowhere yet]].
"""


def test_page_and_editor_fit_a_phone_screen(phone, server):
    page = phone.page
    name = "E2E/Phone"
    api_save(server, "bob", name, WIDE_PAGE)
    phone.login("bob")

    page.goto(f"/wiki/{name}")
    content = page.locator("main .page-content")
    expect(content.locator("h1")).to_be_visible()
    expect(content).to_contain_text("Some ordinary text")
    phone.shot("phone-page")
    assert page.evaluate(NO_PAGE_SCROLL), page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    box = page.locator("main").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box

    page.goto(f"/edit/{name}")
    editor = page.locator("textarea#markdown")
    expect(editor).to_be_visible()
    expect(editor).to_have_value(WIDE_PAGE)
    expect(page.locator("#editor button[type=submit]")).to_be_visible()
    phone.shot("phone-editor")
    assert page.evaluate(NO_PAGE_SCROLL), page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    for locator in (editor, page.locator("#message"), page.locator("main")):
        box = locator.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
    phone.assert_no_js_errors()
