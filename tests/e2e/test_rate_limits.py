"""Rate limits across worker processes: with `ratelimit_storage_url = "redis://…"` every worker
of a real `wiki serve` counts the same failures (a real redis-server, started here)."""

import re
import shutil
import subprocess
import time

import pytest
import requests

from tests.e2e.conftest import (
    PASSWORDS,
    WIKI,
    WORKERS,
    Server,
    _env,
    _free_port,
    _stop,
    _wait_until_up,
    run_wiki,
)

REDIS = shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path):
    if REDIS is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                             text=True, check=False).stdout.strip() != "PONG":
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture
def shared_limits_server(tmp_path, redis_url):
    home = tmp_path / "home"
    home.mkdir()
    run_wiki(home, "init", "--admin", "admin", "--password-stdin",
             stdin=PASSWORDS["admin"] + "\n")
    run_wiki(home, "user", "add", "alice", "--role", "editor", "--password-stdin",
             stdin=PASSWORDS["alice"] + "\n")
    port = _free_port()
    env = {**_env(home), "WIKI_RATELIMIT_STORAGE_URL": redis_url}
    log_path = home / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(WIKI), "--home", str(home), "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(WORKERS)], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, env=env)
    server = Server(url=f"http://127.0.0.1:{port}", home=home,
                    repo=home / "content" / "wiki.git", process=process, log_path=log_path)
    try:
        _wait_until_up(server)
        yield server
    finally:
        _stop(process)


def login(server: Server, name: str, password: str) -> int:
    """One login on a connection of its own, so the workers take turns answering."""
    with requests.Session() as browser:
        form = browser.get(server.url + "/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        answer = browser.post(server.url + "/login", allow_redirects=False, timeout=30,
                              data={"name": name, "password": password, "csrf_token": token})
        return answer.status_code


def test_every_worker_counts_the_same_failures_through_redis(shared_limits_server):
    server = shared_limits_server
    # Five failures for one account from this address, spread over the workers...
    assert [login(server, "alice", "wrong-password") for _ in range(5)] == [401] * 5
    # ...use up the account's limit from here on every worker (each alone saw about two).
    assert {login(server, "alice", PASSWORDS["alice"]) for _ in range(WORKERS)} == {429}
    # Five more failures (other names) use up the address's ten as well.
    assert [login(server, f"guess{n}", "wrong-password") for n in range(5)] == [401] * 5
    assert {login(server, "admin", PASSWORDS["admin"]) for _ in range(WORKERS)} == {429}
