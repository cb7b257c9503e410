"""`/healthz` for load balancers and monitors, `/metrics` for Prometheus.

`/healthz` needs no login and tells nothing but which part fails: the repository, the
database or the search index. `/metrics` is off unless `metrics_enabled`, and then answers
only a scraper with the bearer token `metrics_token` or from an address in `metrics_allow`;
anyone else gets the same 404 as when it is off, so its existence is not revealed.

Under `wiki serve` every worker process writes its counters to files in the folder named by
PROMETHEUS_MULTIPROC_DIR (server.py sets it up before the workers fork), and whichever worker
answers a scrape adds up all of them: prometheus_client's multiprocess mode. Without that
variable (a single process, `wsgi.py` under another server) the counters live in memory.
"""

import hmac
import ipaddress
import os
import time

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import text
from werkzeug.exceptions import NotFound

from wiki import config
from wiki.views import services

bp = Blueprint("health", __name__)
CATCH_UP_LAG_LIMIT = 10_000  # commits counted at most: a scrape stays cheap however far behind
SEARCH_ENDPOINTS = ("search.", "api_search.")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def init_app(app) -> None:
    app.register_blueprint(bp)
    settings = app.extensions["kennis"].settings
    if settings.metrics_enabled:
        app.extensions["kennis_metrics"] = Metrics(settings)
        app.before_request(_started)
        app.after_request(_observed)


@bp.route("/healthz")
def healthz():
    failing = [part for part, check in (("repository", _repository_answers),
                                        ("database", _database_answers),
                                        ("search index", _index_answers)) if not check()]
    if failing:
        return jsonify(status="failing", failing=failing), 503
    return jsonify(status="ok")


def _repository_answers() -> bool:
    repo = services().repo
    try:
        return repo.exists() and repo.head() is not None
    except Exception:  # any failure is the answer: this part is down
        return False


def _database_answers() -> bool:
    try:
        with services().db.session() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _index_answers() -> bool:
    try:
        return not services().search.check()
    except Exception:
        return False


@bp.route("/metrics")
def metrics():
    metrics = current_app.extensions.get("kennis_metrics")
    if metrics is None or not metrics.may_scrape():
        raise NotFound()
    body, content_type = metrics.scrape()
    return Response(body, content_type=content_type)


class Metrics:
    """The wiki's Prometheus metrics, per app (tests build many apps in one process)."""

    def __init__(self, settings: config.Settings):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.settings = settings
        self.allowed = config.networks(settings.metrics_allow)
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # In multiprocess mode metrics must not be registered: the scrape reads the files.
        self.registry = None if self.multiprocess else CollectorRegistry()
        kw = {"registry": self.registry}
        self.requests = Counter("kennis_http_requests", "HTTP requests by route and status",
                                ["route", "method", "status"], **kw)
        self.latency = Histogram("kennis_http_request_seconds", "Time to answer, by route",
                                 ["route"], buckets=LATENCY_BUCKETS, **kw)
        self.saves = Counter("kennis_saves", "Pages saved through the web and the API", **kw)
        self.pushes = Counter("kennis_git_pushes", "git pushes received", **kw)
        self.search = Histogram("kennis_search_seconds", "Time to answer a search",
                                buckets=LATENCY_BUCKETS, **kw)

    def may_scrape(self) -> bool:
        token = self.settings.metrics_token
        sent = request.headers.get("Authorization", "")
        if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
        try:
            address = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        return any(address in network for network in self.allowed)

    def scrape(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = CollectorRegistry()
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(_Registered(self.registry))
        registry.register(_WikiState(services()))
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def observe(self, endpoint: str, method: str, status: int, seconds: float,
                view_args: dict) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)
        ok = status < 400
        if ok and method in ("POST", "PUT") and endpoint in ("pages.edit", "api.Page"):
            self.saves.inc()
        if ok and endpoint == "git.rpc" and view_args.get("service") == "git-receive-pack":
            self.pushes.inc()
        if endpoint.startswith(SEARCH_ENDPOINTS):
            self.search.observe(seconds)


class _Registered:
    """The in-memory metrics of one app, as a collector of a scrape's registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class _WikiState:
    """What is read at scrape time: how far derived data is behind, the index's shape."""

    def __init__(self, wiki):
        self.wiki = wiki

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        lag = GaugeMetricFamily("kennis_catch_up_lag_commits",
                                "Commits on the branch not yet in the derived data")
        lag.add_metric([], self._lag())
        yield lag
        try:
            segments, deleted = self.wiki.search.segments()
        except Exception:  # no index yet: the next search builds it
            segments, deleted = 0, 0
        yield GaugeMetricFamily("kennis_index_segments", "Segments of the search index",
                                value=segments)
        yield GaugeMetricFamily("kennis_index_deleted_documents",
                                "Deleted documents not yet merged away", value=deleted)

    def _lag(self) -> int:
        indexed = self.wiki.catalog.indexed()
        head = self.wiki.repo.head()
        if head is None or indexed == head:
            return 0
        return len(self.wiki.repo.log(indexed, head, with_changes=False,
                                      limit=CATCH_UP_LAG_LIMIT))


def _started():
    g.kennis_started = time.perf_counter()


def _observed(response):
    started = g.pop("kennis_started", None)
    if started is not None and request.endpoint:
        current_app.extensions["kennis_metrics"].observe(
            request.endpoint, request.method, response.status_code,
            time.perf_counter() - started, request.view_args or {})
    return response
