"""Editing as a colleague does it, in a real Chromium: a new page from a template via the
header button, a table from the toolbar, a pasted image, a conflict resolved with "keep both",
and the same on a 375 px phone."""

import re
import uuid

import requests
from playwright.sync_api import expect

from tests.e2e.test_attachments_browser import DELIVER, png_b64
from tests.e2e.test_browser import api_save, phone, tab  # noqa: F401 - the fixtures


def _raw(server, name) -> str:
    response = requests.get(f"{server.url}/api/v1/pages/{name}", timeout=60,
                            headers={"Authorization": f"Bearer {server.token('alice')}"})
    return response.json()["markdown"]


def _new_page(t, title, namespace):
    page = t.page
    page.goto("/wiki/Home")
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():  # on a phone the site's links fold into the menu
        menu.click()
    page.get_by_role("link", name="New page").click()
    page.fill("#title", title)
    page.fill("#namespace", namespace)
    page.select_option("#template", "Templates/Meeting-notes")
    page.get_by_role("button", name="Create and edit").click()
    expect(page.locator("#field-title")).to_have_value(title)


def test_new_page_from_a_template_with_a_table_and_a_pasted_image(tab, server):  # noqa: F811
    tab.login("alice")
    ns = f"Team{uuid.uuid4().hex[:6]}"
    _new_page(tab, "Retro week 49", ns)
    page = tab.page
    assert "## Agenda" in page.locator("#markdown").input_value()
    page.locator("#markdown").press("Control+End")
    page.get_by_role("button", name="Table").click()  # "Column 1" selected, to type over
    page.locator("#markdown").press("Control+End")
    page.evaluate(DELIVER, ["paste", png_b64("red"), "board.png"])
    expect(page.locator("#markdown")).to_have_value(re.compile(r"!\[.*\]\(.*\.png\)"))
    expect(page.locator(".preview table")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Retro week 49")
    text = _raw(server, f"{ns}/Retro-week-49")
    assert text.startswith("---\ntitle: Retro week 49\n")
    assert "| Column 1 | Column 2 | Column 3 |" in text and ".png)" in text
    assert "{{" not in text
    expect(page.locator(".page-content table")).to_be_visible()
    tab.assert_no_js_errors()


def test_a_real_conflict_resolved_with_keep_both(tab, server):  # noqa: F811
    name = f"Shared{uuid.uuid4().hex[:6]}"
    api_save(server, "bob", name, "intro\n\nthe plan\n\nend\n")
    tab.login("alice")
    page = tab.page
    page.goto(f"/edit/{name}")
    page.fill("#markdown", "intro\n\nalice's plan\n\nend\n")
    api_save(server, "bob", name, "intro\n\nbob's plan\n\nend\n", message="Bob's plan")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Edit conflict")
    expect(page.locator(".conflict-others")).to_contain_text("bob")
    expect(page.get_by_role("radio", name="Keep both")).to_be_checked()
    expect(page.locator(".conflict-result .preview")).to_contain_text("bob's plan")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".page-content")).to_contain_text("alice's plan")
    assert _raw(server, name) == "intro\n\nalice's plan\nbob's plan\n\nend\n"
    # The conflict screen itself is answered with 409, which the console reports.
    assert [e for e in tab.errors if "409 (Conflict)" not in e] == []


def test_on_a_phone_write_preview_tabs_and_the_save_bar(phone, server):  # noqa: F811
    phone.login("alice")
    ns = f"Phone{uuid.uuid4().hex[:6]}"
    _new_page(phone, "Standup", ns)
    page = phone.page
    expect(page.get_by_role("tab", name="Write")).to_be_visible()
    expect(page.locator(".preview")).to_be_hidden()
    page.get_by_role("tab", name="Preview").click()
    expect(page.locator(".preview")).to_contain_text("Standup")
    expect(page.locator("#markdown")).to_be_hidden()
    page.get_by_role("tab", name="Write").click()
    save = page.get_by_role("button", name="Save")
    expect(save).to_be_in_viewport()
    expect(page.locator(".shortcut-hint")).to_be_hidden()  # no Ctrl+S on touch screens
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    save.click()
    expect(page.locator("h1")).to_contain_text("Standup")
    phone.assert_no_js_errors()
