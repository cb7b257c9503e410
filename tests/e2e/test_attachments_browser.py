"""Images dropped on or pasted into the editor in a real Chromium: uploaded, linked at the cursor,
shown on the saved page."""

import base64
import io
import uuid

import requests
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.test_browser import tab  # noqa: F401 - the fixture

# Runs in the page: build a File from base64 PNG bytes and hand it to the textarea the way a
# drop or a paste does (a DataTransfer carrying the file).
DELIVER = """([kind, b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  const textarea = document.querySelector("#markdown");
  if (kind === "drop") {
    textarea.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true,
                                                       cancelable: true }));
    textarea.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true,
                                                   cancelable: true }));
  } else {
    textarea.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer,
                                                         bubbles: true, cancelable: true }));
  }
}"""


def png_b64(color) -> str:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), color).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_drop_and_paste_images_into_the_editor(tab, server):  # noqa: F811
    name = f"Photos/{uuid.uuid4().hex[:8]}"
    response = requests.put(f"{server.url}/api/v1/pages/{name}",
                            json={"markdown": "Start\n"}, timeout=30,
                            headers={"Authorization": f"Bearer {server.token('alice')}"})
    assert response.status_code == 201
    tab.login("alice")
    page = tab.page
    page.goto(f"/edit/{name}")
    textarea = page.locator("#markdown")
    textarea.click()
    page.keyboard.press("End")
    page.evaluate(DELIVER, ["drop", png_b64((255, 0, 0)), "red dot.png"])
    expect(textarea).to_have_value("Start\n![red_dot](red_dot.png)")
    page.evaluate(DELIVER, ["paste", png_b64((0, 0, 255)), "image.png"])
    expect(textarea).to_have_value("Start\n![red_dot](red_dot.png)![image](image.png)")
    page.evaluate(DELIVER, ["paste", png_b64((0, 255, 0)), "image.png"])  # never replaces
    expect(textarea).to_have_value(
        "Start\n![red_dot](red_dot.png)![image](image.png)![image-2](image-2.png)")

    page.locator("#editor button[type=submit]").click()
    images = page.locator(".page-content img")
    expect(images).to_have_count(3)
    assert images.first.get_attribute("src") == f"/file/{name}/red_dot.png"
    page.wait_for_function("() => [...document.querySelectorAll('.page-content img')]"
                           ".every((img) => img.complete && img.naturalWidth === 30)")

    page.goto(f"/file/{name}/image-2.png")  # opened alone, under its sandboxing CSP
    page.wait_for_function("() => document.images[0]?.naturalWidth === 30")

    page.goto(f"/attachments/{name}")
    expect(page.locator("table.attachments tbody tr")).to_have_count(3)
    log = requests.get(f"{server.url}/api/v1/history/{name}", timeout=30, headers={
        "Authorization": f"Bearer {server.token('alice')}"}).json()
    assert log["revisions"][0]["author"] == "alice"
    tab.assert_no_js_errors()
