"""End-to-end fixtures: a real `wiki serve` (gunicorn, several workers) and headless Chromium.

The server is started once per session in a fresh wiki home with the users admin, alice and
bob; tests that count commits measure from the head they found, so they can share it.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

WIKI = Path(sys.executable).with_name("wiki")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORDS = {"admin": "admin-pass-e2e-1", "alice": "alice-pass-e2e-1", "bob": "bob-pass-e2e-1"}
WORKERS = 3
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


def run_wiki(home: Path, *args: str, stdin: str | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run the `wiki` command line against `home` and return the finished process."""
    result = subprocess.run([str(WIKI), "--home", str(home), *args], input=stdin,
                            capture_output=True, text=True, timeout=120, env=_env(home))
    if check and result.returncode != 0:
        pytest.fail(f"wiki {' '.join(args)} exited {result.returncode}:\n"
                    f"{result.stdout}\n{result.stderr}")
    return result


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True,
                            text=True, timeout=120)
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIKI_")}
    # gunicorn puts its control socket in XDG_RUNTIME_DIR (else ~/.gunicorn): keep it
    # inside this wiki's home so it neither touches nor collides with anything else.
    runtime = home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    home: Path
    repo: Path
    process: subprocess.Popen
    log_path: Path
    _tokens: dict[str, str] = field(default_factory=dict)
    _tokens_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pid(self) -> int:
        return self.process.pid

    def token(self, user: str) -> str:
        """An API token for `user` (made once per user with `wiki token create`)."""
        with self._tokens_lock:  # test threads ask at once; one token per user is enough
            if user not in self._tokens:
                out = run_wiki(self.home, "token", "create", user, "--label", "e2e").stdout
                self._tokens[user] = out.strip().splitlines()[-1].strip()
            return self._tokens[user]

    def password(self, user: str) -> str:
        return PASSWORDS[user]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def head(self) -> str:
        return git(self.repo, "rev-parse", "--verify", "main^{commit}").stdout.strip()

    def workers(self) -> set[int]:
        """PIDs of the gunicorn worker processes (the server process's children)."""
        result = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True,
                                text=True, check=False)
        return {int(pid) for pid in result.stdout.split()}


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"wiki serve exited with {server.process.returncode}:\n{server.log()}")
        try:
            response = requests.get(server.url + "/login", timeout=5)
            if response.status_code == 200 and len(server.workers()) == WORKERS:
                return
            last_error = f"GET /login answered {response.status_code}"
        except requests.RequestException as exc:
            last_error = str(exc)
        time.sleep(0.2)
    pytest.fail(f"wiki serve did not answer within {START_TIMEOUT:.0f} s ({last_error}):\n"
                f"{server.log()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("wiki-home")
    run_wiki(home, "init", "--admin", "admin", "--password-stdin",
             stdin=PASSWORDS["admin"] + "\n")
    for name in ("alice", "bob"):
        run_wiki(home, "user", "add", name, "--role", "editor", "--email",
                 f"{name}@example.org", "--password-stdin", stdin=PASSWORDS[name] + "\n")
    port = _free_port()
    log_path = home / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(WIKI), "--home", str(home), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(WORKERS)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=_env(home))
    server = Server(url=f"http://127.0.0.1:{port}", home=home,
                    repo=home / "content" / "wiki.git", process=process, log_path=log_path)
    try:
        _wait_until_up(server)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
