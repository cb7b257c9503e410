"""/healthz answers load balancers without a login; /metrics only the configured scraper."""

import shutil

from tests.conftest import AuthActions, post_form


def test_healthz_answers_ok_without_login_and_reveals_nothing(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok"}


def test_healthz_names_the_failing_part(app, client, settings):
    shutil.rmtree(settings.repository)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "failing", "failing": ["repository"]}


def test_metrics_are_off_by_default(client, auth):
    auth.login("admin")
    assert client.get("/metrics").status_code == 404


def test_metrics_without_the_token_answer_404(make_app):
    app = make_app(metrics_enabled=True, metrics_token="scrape-secret")
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 404 and b"kennis_http" not in wrong.data


def test_metrics_count_requests_saves_and_searches(make_app, auth):
    app = make_app(metrics_enabled=True, metrics_token="scrape-secret")
    client = app.test_client()
    AuthActions(client).login("editor")
    assert client.get("/search?q=Home").status_code == 200
    saved = post_form(client, "/edit/Metrics", {"markdown": "Counted.\n", "base": "",
                                                "message": ""})
    assert saved.status_code == 302
    scrape = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert scrape.status_code == 200
    body = scrape.get_data(as_text=True)
    assert 'kennis_http_requests_total{method="GET",route="search.search",status="200"} 1.0' \
        in body
    assert "kennis_saves_total 1.0" in body
    assert "kennis_search_seconds_count 1.0" in body
    assert "kennis_catch_up_lag_commits 0.0" in body
    assert "kennis_index_segments" in body


def test_metrics_from_an_allowed_address_need_no_token(make_app):
    app = make_app(metrics_enabled=True, metrics_allow="127.0.0.0/8")
    client = app.test_client()
    assert client.get("/metrics").status_code == 200
    other = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 404
