"""Finding your way in a real Chromium: the page tree, the phone menu, no sideways scrolling,
and axe's accessibility rules over the everyday screens in light and dark."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.test_browser import NO_PAGE_SCROLL, PHONE, Tab, api_save

PAGES = {
    "Nav/Handbook": "# Handbook\n\n## Start\n\nRead [[Nav/Handbook/Tools]].\n\n## Next\n\nx\n\n"
                    "## Last\n\n| a | b | c | d |\n|---|---|---|---|\n| long words in a cell | "
                    "long words in a cell | long words in a cell | long words in a cell |\n",
    "Nav/Handbook/Tools": "# Tools we use\n\nEditors.\n",
    "Nav/Handbook/Tools/Git": "# Git for beginners\n\nClone.\n",
    "Nav/Verlof": "---\nlang: nl\n---\n# Verlof\n\nTekst.\n",
}


@pytest.fixture
def tab(browser, server, tmp_path):
    tab = Tab(browser, server, tmp_path)
    yield tab
    tab.context.close()


@pytest.fixture
def phone(browser, server, tmp_path):
    tab = Tab(browser, server, tmp_path, viewport=PHONE, is_mobile=True, has_touch=True)
    yield tab
    tab.context.close()


@pytest.fixture(scope="module")
def nav_pages(server):
    for name, text in PAGES.items():
        api_save(server, "admin", name, text)
    api_save(server, "admin", "Nav/Handbook", PAGES["Nav/Handbook"] + "\nMore.\n")


def test_the_tree_opens_at_the_page_and_loads_a_folder_on_demand(tab, server, nav_pages):
    tab.login("alice")
    page = tab.page
    page.goto("/wiki/Nav/Handbook/Tools")
    tree = page.locator("nav.page-tree")
    expect(tree.locator('a[aria-current="page"]')).to_have_text("Tools we use")
    assert tree.get_by_text("Git for beginners").count() == 0  # not loaded yet
    toggle = tree.get_by_role("button", name="Show pages in Tools we use", exact=True)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(tree.get_by_role("link", name="Git for beginners")).to_be_visible()
    tree.get_by_role("link", name="Git for beginners").click()
    expect(page.locator("h1").first).to_contain_text("Git for beginners")
    tab.assert_no_js_errors()


def test_phone_menu_and_more_menu(phone, server, nav_pages):
    phone.login("alice")
    page = phone.page
    page.goto("/wiki/Nav/Handbook")
    nav = page.locator("#site-nav")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav.get_by_role("link", name="Recent changes")).to_be_visible()
    rename = page.locator(".more-items").get_by_role("link", name="Rename")
    expect(rename).to_be_hidden()
    page.locator(".more-menu summary").click()
    expect(rename).to_be_visible()
    expect(page.locator(".git-clone")).to_be_hidden()
    assert page.evaluate(NO_PAGE_SCROLL)
    phone.assert_no_js_errors()


def test_skip_link_is_the_first_stop_and_slash_focuses_search(tab, server, nav_pages):
    tab.login("alice")
    page = tab.page
    page.goto("/wiki/Nav/Handbook")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    expect(page.locator("#header-q")).to_be_focused()


SCREENS = {
    "home": "/wiki/Home",
    "page": "/wiki/Nav/Handbook",
    "search": "/search?q=handbook",
    "history": "/history/Nav/Handbook",
    "diff": "/diff/Nav/Handbook",
    "blame": "/blame/Nav/Handbook",
    "index": "/index",
    "recent": "/recent",
    "activity": "/activity",
    "inbox": "/inbox",
    "missing": "/wiki/Nav/Nothing",
    "admin": "/admin/users",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screens_pass_axe_and_fit_a_phone(browser, server, nav_pages, tmp_path, scheme):
    axe = Axe()
    found, sideways = {}, []
    for viewport in ({"width": 1366, "height": 900}, PHONE):
        screen_tab = Tab(browser, server, tmp_path, viewport=viewport, color_scheme=scheme)
        try:
            screen_tab.login("admin")
            for screen, url in SCREENS.items():
                page = screen_tab.page
                page.goto(url)
                page.wait_for_load_state("networkidle")
                if viewport is PHONE:
                    if not page.evaluate(NO_PAGE_SCROLL):
                        sideways.append(screen)
                    continue
                results = axe.run(page)
                violations = [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
                              for v in results.response["violations"]]
                if violations:
                    found[screen] = violations
        finally:
            screen_tab.context.close()
    assert found == {}
    assert sideways == []
