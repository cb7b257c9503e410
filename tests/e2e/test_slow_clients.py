"""Slow and oversized requests against the real `wiki serve` (issue 12, item 1).

A client that sends its request a byte at a time (slowloris) must not keep anybody else from
being answered, and a request refused as too large must not leave the connection in a state
where the client's next request gets a garbled answer.
"""

import contextlib
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import (
    PASSWORDS,
    START_TIMEOUT,
    WIKI,
    Server,
    _env,
    _free_port,
    _stop,
    run_wiki,
)

SLOW_CLIENTS = 16
BYTE_EVERY = 1.0   # seconds between two bytes of a slow client's headers
SLOW_FOR = 20.0    # seconds the slow clients keep going; the test stops them itself
PROBES = 8
ANSWER_WITHIN = 1.0  # what a visitor may wait while the slow clients last (issue 12)


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """`wiki serve` as installed, default worker count: the session server has more threads."""
    home = tmp_path_factory.mktemp("wiki-slow")
    run_wiki(home, "init", "--admin", "admin", "--password-stdin",
             stdin=PASSWORDS["admin"] + "\n")
    run_wiki(home, "user", "add", "alice", "--role", "editor", "--password-stdin",
             stdin=PASSWORDS["alice"] + "\n")
    port = _free_port()
    log_path = home / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(WIKI), "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=_env(home))
    server = Server(url=f"http://127.0.0.1:{port}", home=home,
                    repo=home / "content" / "wiki.git", process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"wiki serve exited with {process.returncode}:\n{server.log()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(server.url + "/login", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"wiki serve did not answer:\n{server.log()}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


def address(server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname == "127.0.0.1"  # loopback only
    return parts.hostname, parts.port


class SlowClients:
    """Sockets that send a request header that never ends, one byte every BYTE_EVERY s."""

    def __init__(self, server, count: int):
        self.address = address(server)
        self.count = count
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.connected = 0
        self.lock = threading.Lock()

    def __enter__(self):
        for _ in range(self.count):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)

    def _run(self) -> None:
        deadline = time.monotonic() + SLOW_FOR + 10  # bounded even if the test fails early
        with contextlib.suppress(OSError), \
                socket.create_connection(self.address, timeout=5) as sock:
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            with self.lock:
                self.connected += 1
            while not self.stop.is_set() and time.monotonic() < deadline:
                sock.sendall(b"a")
                self.stop.wait(BYTE_EVERY)


def test_slow_clients_do_not_stop_other_requests(fresh_server):
    server = fresh_server
    # Warm every worker first, so a probe measures waiting, not a first render.
    for _ in range(6):
        assert requests.get(server.url + "/login", timeout=30).status_code == 200
    failures = []
    with SlowClients(server, SLOW_CLIENTS) as slow:
        time.sleep(2 * BYTE_EVERY)  # every slow client connected and sending
        assert slow.connected == SLOW_CLIENTS
        started = time.monotonic()
        for probe in range(PROBES):
            try:
                response = requests.get(server.url + "/login", timeout=ANSWER_WITHIN,
                                        headers={"Connection": "close"})
                if response.status_code != 200:
                    failures.append(f"probe {probe}: {response.status_code}")
            except requests.RequestException as exc:
                failures.append(f"probe {probe}: {type(exc).__name__}")
            time.sleep(0.5)
        assert time.monotonic() - started < SLOW_FOR  # the probes ran while the clients did
    assert failures == [], f"{len(failures)} of {PROBES} requests not answered: {failures}"


def read_response(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length: (status line, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return status.encode(), headers, body[length:]


def read_until_closed(sock: socket.socket, leftover: bytes) -> bytes:
    data = leftover
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def send_oversized(server, size: int) -> tuple[bytes, dict[str, str], bytes]:
    """On one keep-alive connection: a PUT of `size` bytes, then a GET of /login.

    Returns the first answer's status line and headers, and every byte the server sent after
    that answer until it closed the connection.
    """
    token = server.token("alice")
    head = (f"PUT /api/v1/pages/Sandbox/Too-large HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    # A body that also reads as requests: a server that parsed it as the next request would
    # answer those.
    filler = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = (filler * (size // len(filler) + 1))[:size]
    following = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(address(server), timeout=30) as sock:
        def send_all() -> None:
            # The server may answer (and stop reading) before the body is sent.
            with contextlib.suppress(OSError):
                sock.sendall(head + body)
                sock.sendall(following)

        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        status, headers, leftover = read_response(sock)
        rest = read_until_closed(sock, leftover)
        sender.join(timeout=30)
    return status, headers, rest


def test_body_over_every_limit_gets_413_and_the_connection_closes(fresh_server):
    # Over the largest body any page route takes (an attachment, 25 MB): refused unread.
    status, headers, rest = send_oversized(fresh_server, 40 * 1024 * 1024)
    assert status.split()[1] == b"413", status
    assert headers.get("connection", "").lower() == "close", headers
    # Closed cleanly: nothing follows the 413, least of all answers to bytes of its body.
    assert rest == b"", rest[:200]
    assert requests.get(fresh_server.url + "/login", timeout=30).status_code == 200


def test_body_over_the_page_limit_leaves_the_connection_usable(fresh_server):
    # Over the largest page (max_page_bytes), under an attachment's limit: the API refuses it
    # after the server read it in full, so the next request on the connection is answered.
    status, _, rest = send_oversized(fresh_server, 8 * 1024 * 1024)
    assert status.split()[1] == b"413", status
    assert rest.startswith(b"HTTP/1.1 200 "), rest[:200]
    assert rest.count(b"HTTP/1.1 ") == 1, rest[:200]
