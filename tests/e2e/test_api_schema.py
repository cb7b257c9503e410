"""Schemathesis against a live `wiki serve`: generated requests for every operation of
`/api/v1/openapi.json`, sent with a bearer token; no answer may be a server error or differ
from what the document promises (status, content type, body schema).

Bounded for CI on 2 cores: a fixed number of examples per operation, derandomized (the same
cases on every run), no per-example deadline.
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import _env, _free_port, _stop, run_wiki

EXAMPLES_PER_OPERATION = 25
START_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A `wiki serve` of its own (two workers) with an admin and the admin's API token."""
    import subprocess
    import time

    from tests.e2e.conftest import WIKI

    home = tmp_path_factory.mktemp("schema-home")
    run_wiki(home, "init", "--admin", "admin", "--password-stdin", stdin="schema-admin-pass\n")
    token = run_wiki(home, "token", "create", "admin", "--label", "schemathesis") \
        .stdout.strip().splitlines()[-1].strip()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = home / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(WIKI), "--home", str(home), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "2"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=_env(home))
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"wiki serve exited:\n{log_path.read_text(errors='replace')}")
            try:
                if requests.get(url + "/api/v1/openapi.json", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"wiki serve did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield {"url": url, "token": token, "log": log_path}
    finally:
        _stop(process)


def operations(url: str):
    """Every operation of the live document (schemathesis' lazy pytest loader predates
    pytest 9, so the operations are walked here, one subtest each)."""
    loaded = schemathesis.openapi.from_url(url + "/api/v1/openapi.json")
    for result in loaded.get_all_operations():
        yield result.ok()


def test_api_answers_as_its_openapi_document_says(live, subtests):
    headers = {"Authorization": f"Bearer {live['token']}"}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    seen = 0
    for operation in operations(live["url"]):
        seen += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck), database=None)
        def conforms(case):
            case.call_and_validate(base_url=live["url"], headers=headers, timeout=30,
                                   checks=checks)

        with subtests.test(operation=operation.label):
            conforms()
    assert seen >= 7  # pages list/read/write/delete, move, history, diff at least
