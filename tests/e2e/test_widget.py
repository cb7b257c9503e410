"""The portal widget in headless Chromium: a page on another origin (under a strict CSP) adds
one script tag and an element, and gets live results from the wiki through CORS."""

import http.server
import json
import subprocess
import threading
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import WIKI, _env, _free_port, _stop, run_wiki

WAIT = 20_000


@pytest.fixture(scope="module")
def portal_and_wiki(tmp_path_factory):
    home = tmp_path_factory.mktemp("widget-wiki")
    wiki_port, portal_port = _free_port(), _free_port()
    wiki_url, portal_url = f"http://127.0.0.1:{wiki_port}", f"http://127.0.0.1:{portal_port}"
    (home / "instance").mkdir()
    (home / "instance" / "wiki.toml").write_text(
        f'anonymous_read = true\ncors_origins = "{portal_url}"\n')
    run_wiki(home, "init", "--admin", "admin", "--password-stdin", stdin="admin-pass-widget\n")
    run_wiki(home, "acl", "set", "HR", "--read", "group:hr")
    token = run_wiki(home, "token", "create", "admin").stdout.strip().splitlines()[-1]
    log = open(home / "serve.log", "wb")  # noqa: SIM115 (closed after the server stops)
    process = subprocess.Popen(
        [str(WIKI), "--home", str(home), "serve", "--port", str(wiki_port), "--workers", "1"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, env=_env(home))
    page = (f'<!doctype html><html><head><title>Portal</title></head><body>'
            f'<h1>Intranet</h1><div id="box" data-kennis-search data-limit="5"></div>'
            f'<script src="{wiki_url}/static/widget.js" async></script></body></html>')

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy",
                             f"default-src 'self'; script-src {wiki_url}; "
                             f"connect-src {wiki_url}; style-src 'self'")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    portal = http.server.ThreadingHTTPServer(("127.0.0.1", portal_port), Portal)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(wiki_url + "/login", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("wiki serve did not start:\n" + (home / "serve.log").read_text())
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for path, text in (("Ops/Backups", "# Backups\n\nThe nightly backup copies it all.\n"),
                           ("HR/Salaries", "# Salaries\n\nThe nightly salary export.\n")):
            response = requests.put(f"{wiki_url}/api/v1/pages/{path}", headers=headers,
                                    data=json.dumps({"markdown": text}), timeout=30)
            assert response.status_code in (200, 201), response.text
        yield portal_url, wiki_url
    finally:
        portal.shutdown()
        portal.server_close()
        _stop(process)
        log.close()


def test_the_widget_searches_the_wiki_from_another_origin(browser, portal_and_wiki):
    portal_url, wiki_url = portal_and_wiki
    context = browser.new_context()
    context.set_default_timeout(WAIT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(portal_url)
        box = page.locator("#box .kennis-search-input")
        box.fill("nightly")
        results = page.locator("#box .kennis-search-result")
        expect(results).to_have_count(1)
        link = results.first.locator("a.kennis-search-title")
        expect(link).to_have_text("Backups")
        assert link.get_attribute("href") == f"{wiki_url}/wiki/Ops/Backups"
        expect(results.first.locator("mark")).to_have_text("nightly")
        expect(page.locator("#box .kennis-search-status")).to_have_text("1 result")
        assert "Salaries" not in page.locator("#box").inner_text()  # HR is not for anyone
        box.fill("nightlly")
        expect(page.locator("#box .kennis-search-status a")).to_have_text("nightly")
        assert errors == []
    finally:
        context.close()
