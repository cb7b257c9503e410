"""The wheel, as an administrator installs it: built with `python -m build`, installed (not
editable) into a fresh virtualenv outside the checkout, and served with `wiki serve`.

Issue 17: a plain `pip install .` answered 500 on every page because the themes were not in
the wheel. This test crawls every page it can reach, in English and in Dutch, and fails on any
answer that is not a page.
"""

import re
import subprocess
import sys
import venv
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.e2e.conftest import _env, _free_port, _stop
from wiki import __version__

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "package-admin-pass-1"
MAX_PAGES = 150
# Links the crawl leaves alone: downloads of the whole wiki, git's own protocol, log-out.
SKIP = re.compile(r"^/(logout|git/|wiki\.git|.*\.git/)|/raw/|\?(action|download)=")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(bin folder, home) of a fresh virtualenv with the built wheel installed in it."""
    work = tmp_path_factory.mktemp("package")
    dist = work / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(dist.glob("kennis-*.whl"))
    sdists = list(dist.glob("kennis-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(dist.iterdir())
    assert wheels[0].name.startswith(f"kennis-{__version__}-")

    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    pip = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q",
                          str(wheels[0])], capture_output=True, text=True, timeout=600,
                         cwd=work)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return bin_dir, work


def _run(bin_dir, home, *args, stdin=None):
    return subprocess.run([str(bin_dir / "wiki"), "--home", str(home), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=_env(home),
                          cwd=home)


def test_the_installed_package_is_not_the_checkout(installed):
    bin_dir, work = installed
    where = subprocess.run([str(bin_dir / "python"), "-c", "import wiki; print(wiki.__file__)"],
                           capture_output=True, text=True, check=True, cwd=work,
                           env=_env(work)).stdout.strip()
    assert Path(where).is_relative_to(work / "venv")
    assert _run(bin_dir, work, "--version").stdout.strip() == f"Kennis {__version__}"


def test_the_installed_wiki_serves_every_page_in_both_languages(installed):
    bin_dir, work = installed
    home = work / "home"
    home.mkdir()
    init = _run(bin_dir, home, "init", "--admin", "admin", "--password-stdin",
                stdin=ADMIN_PASSWORD + "\n")
    assert init.returncode == 0, init.stderr
    port = _free_port()
    log_path = home / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(bin_dir / "wiki"), "--home", str(home), "serve", "--port", str(port),
             "--workers", "2"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=_env(home), cwd=home)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process, log_path)
        for language in ("en", "nl"):
            session = requests.Session()
            session.headers["Accept-Language"] = language
            _log_in(session, base)
            seen = _crawl(session, base, language)
            assert len(seen) > 20, seen  # the starter pages, their tabs, admin, search, help
        missing = requests.get(base + "/no/such/page/history", timeout=10)
        assert missing.status_code == 404 and "<html" in missing.text  # error.html is there
    finally:
        _stop(process)
    assert "Traceback" not in log_path.read_text(errors="replace")


def _wait(base, process, log_path):
    import time

    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"wiki serve exited:\n{log_path.read_text(errors='replace')}")
        try:
            if requests.get(base + "/login", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"wiki serve did not start:\n{log_path.read_text(errors='replace')}")


def _log_in(session, base):
    form = session.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = session.post(base + "/login", timeout=10, data={
        "name": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
    assert answer.status_code == 200 and "/logout" in answer.text


def _crawl(session, base, language) -> set[str]:
    """GET every link of the wiki reachable from Home (up to MAX_PAGES); each must be a page
    in `language` (or a static file), none a server error."""
    queue, seen = ["/"], set()
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        answer = session.get(base + path, timeout=30)
        # A link to a page nobody wrote yet (Sandbox) answers with the "create it" screen.
        missing_page = answer.status_code == 404 and path.startswith("/wiki/")
        assert answer.status_code == 200 or missing_page, (path, answer.status_code,
                                                            answer.text[:500])
        if "text/html" not in answer.headers.get("Content-Type", ""):
            continue
        assert f'<html lang="{language}"' in answer.text, path
        if path == "/":
            assert f"Kennis {__version__}" in answer.text  # the admins' footer
        for href in re.findall(r'\s(?:href|src)="([^"#]+)', answer.text):
            target = urlsplit(urljoin(base + path, unescape(href)))
            if target.netloc != urlsplit(base).netloc:
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            if link not in seen and not SKIP.search(link):
                queue.append(link)
    return seen
