"""`wiki serve`: gunicorn with several worker processes, each building its own app.

Each worker is gunicorn's asyncio worker (`worker_class = "asgi"`): an event loop reads every
request, headers and body, and only a request that has arrived in full reaches one of the
worker's threads that run the Flask app (a2wsgi's WSGI-in-a-thread-pool adapter). Before, the
threaded worker gave each connection a thread before its headers had arrived, and 16 clients
sending headers a byte a second stopped the wiki (issue 12).
"""

import asyncio
import tempfile

from a2wsgi import WSGIMiddleware
from gunicorn.app.base import BaseApplication

from wiki import config

THREADS = 4  # Flask threads per worker process: requests get here already read
SPOOL_IN_MEMORY = 1024 * 1024  # request bodies larger than this wait in a temporary file
CHUNK = 64 * 1024
FORM_OVERHEAD = 1024 * 1024  # multipart boundaries, CSRF token and fields beside a file
GIT_PREFIX = "/wiki.git/"


class _Server(BaseApplication):
    def __init__(self, settings: config.Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in each worker after the fork: engines, locks and caches are per process.
        from wiki.app import create_app

        return BufferedRequests(WSGIMiddleware(create_app(self.settings), workers=THREADS),
                                self.settings)


class BufferedRequests:
    """ASGI middleware: read a request's body in full on the event loop, then pass it on.

    A client that sends its body slowly then holds a coroutine and a buffer, never one of the
    few threads that run the app. A body over the largest the wiki can accept on that path is
    refused at once with 413 and the connection is closed: the unread rest of the body must
    not be taken for the client's next request.
    """

    def __init__(self, app, settings: config.Settings):
        self.app = app
        self.git_limit = settings.max_push_bytes
        # The largest body any other route reads (app.py's MAX_CONTENT_LENGTH, or an upload);
        # the app still applies its own, smaller limit per route after this one.
        self.limit = max(settings.max_page_bytes * 2, settings.max_attachment_bytes) \
            + FORM_OVERHEAD

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.git_limit if scope["path"].startswith(GIT_PREFIX) else self.limit
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limit:
            return await _refuse_too_large(send)
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            size = 0
            while True:
                # gunicorn ends a wait for the next piece after `timeout` seconds with a
                # disconnect, so a client that stops sending is dropped, not kept forever.
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away: nobody to answer
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return await _refuse_too_large(send)
                body.write(chunk)
                if not message.get("more_body", False):
                    break
            body.seek(0)
            await self.app(_with_length(scope, size), _replay(body, size), send)
        finally:
            body.close()


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # gunicorn's parser refuses a malformed length before this
    return None


def _with_length(scope: dict, size: int) -> dict:
    """The scope with the body's real length: a chunked body is no longer chunked here, and
    the WSGI app reads `wsgi.input` up to CONTENT_LENGTH (a git push is usually chunked)."""
    headers = [(name, value) for name, value in scope["headers"]
               if name.lower() not in (b"content-length", b"transfer-encoding")]
    if size or scope["method"] not in ("GET", "HEAD", "OPTIONS", "DELETE"):
        headers.append((b"content-length", str(size).encode()))
    return {**scope, "headers": headers}


def _replay(body, size: int):
    async def receive():
        chunk = body.read(CHUNK)
        if chunk or body.tell() < size:
            return {"type": "http.request", "body": chunk, "more_body": body.tell() < size}
        # After the body, a receive() waits for the client to go away (ASGI); a2wsgi asks
        # no more than the body, so answer at once rather than keep a coroutine waiting.
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    return receive


async def _refuse_too_large(send) -> None:
    text = b"What you sent is too large.\n"
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(text)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": text})


def run(settings: config.Settings, host: str, port: int, workers: int) -> None:
    options = {}
    if settings.metrics_enabled:
        options["child_exit"] = _prepare_metrics(settings)
    _Server(settings, {
        **options,
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "asgi",
        # The Flask app needs no lifespan events; a2wsgi would only acknowledge them.
        "asgi_lifespan": "off",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": settings.access_log or None,
        "errorlog": "-",
        "preload_app": False,
        # gunicorn's control socket has one path per machine user: two wikis on one machine
        # would delete each other's. Kennis does not use it.
        "control_socket_disable": True,
    }).run()


def _prepare_metrics(settings: config.Settings):
    """prometheus_client's multiprocess mode: the workers write their counters to files in
    one folder, emptied at start (old files would add last run's counts), named in the
    environment before the workers fork so every worker imports the library in that mode.
    Returns gunicorn's `child_exit` hook, which drops a dead worker's live gauges."""
    import os
    import shutil

    folder = settings.cache / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)

    def child_exit(server, worker):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    return child_exit
