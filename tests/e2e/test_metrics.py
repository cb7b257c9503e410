"""/metrics under `wiki serve`: every worker's counts add up in one scrape (multiprocess mode)."""

import re
import subprocess
import time

import pytest
import requests

from tests.e2e.conftest import WIKI, _env, _free_port, _stop, run_wiki

TOKEN = "e2e-scrape-token"
WORKERS = 3


@pytest.fixture(scope="module")
def metrics_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("metrics-home")
    run_wiki(home, "init")
    port = _free_port()
    env = {**_env(home), "WIKI_METRICS_ENABLED": "1", "WIKI_METRICS_TOKEN": TOKEN}
    log_path = home / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(WIKI), "--home", str(home), "serve", "--port", str(port), "--workers",
             str(WORKERS)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(log_path.read_text(errors="replace"))
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        yield url
    finally:
        _stop(process)


def _healthz_count(url) -> float:
    scrape = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=10)
    assert scrape.status_code == 200
    found = re.search(r'kennis_http_requests_total\{method="GET",route="health.healthz",'
                      r'status="200"\} ([0-9.]+)', scrape.text)
    return float(found.group(1)) if found else 0.0


def test_a_scrape_adds_up_the_requests_of_every_worker(metrics_server):
    before = _healthz_count(metrics_server)
    for _ in range(40):  # new connections: gunicorn spreads them over the workers
        assert requests.get(metrics_server + "/healthz", timeout=10).json() == {"status": "ok"}
    for _ in range(3):  # whichever worker answers the scrape, the total is the same
        assert _healthz_count(metrics_server) == before + 40


def test_metrics_without_the_token_are_not_found(metrics_server):
    assert requests.get(metrics_server + "/metrics", timeout=10).status_code == 404
