"""Hardening: login rate limits, proxy sign-on, cookies and sessions, security headers, CORS."""

import re

import pytest

from tests.conftest import PASSWORD, AuthActions, csrf, post_form
from wiki import config

TOO_MANY = "Too many failed attempts"
PORTAL = "https://portal.example.org"




def login(client, name, password=PASSWORD, **kwargs):
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": csrf(client)}, **kwargs)


# --- login rate limits -----------------------------------------------------------------------

def test_failed_logins_per_account_end_in_429_even_with_the_right_password(client):
    for _ in range(5):
        assert login(client, "editor", "wrong-password").status_code == 401
    blocked = login(client, "editor")
    assert blocked.status_code == 429
    assert TOO_MANY in blocked.get_data(as_text=True)
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert blocked.mimetype == "text/html"
    assert "Content-Security-Policy" in blocked.headers
    assert login(client, "bob").status_code == 302  # other accounts are not affected
    # The colleague at their own desk is not locked out by someone guessing elsewhere.
    assert login(client, "editor", environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code == 302


def without_csrf(response) -> str:
    """The page as the user reads it (the form's CSRF token differs from render to render)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))


def test_rate_limit_looks_the_same_for_unknown_accounts(client):
    answers = {}
    for name in ("editor", "no-such-user"):
        failures = [login(client, name, "wrong-password") for _ in range(5)]
        assert {r.status_code for r in failures} == {401}
        blocked = login(client, name, "wrong-password")
        answers[name] = (without_csrf(failures[0]), blocked.status_code, without_csrf(blocked))
    assert answers["editor"] == answers["no-such-user"]
    assert answers["editor"][1] == 429


def test_failed_logins_per_address_end_in_429_and_other_addresses_go_on(client):
    for number in range(10):
        assert login(client, f"guess{number}", "wrong-password").status_code == 401
    assert login(client, "bob").status_code == 429
    elsewhere = login(client, "bob", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert elsewhere.status_code == 302


def test_guessing_one_account_from_many_addresses_spares_its_usual_address(make_app):
    client = make_app(login_limit_per_account_total="3/hour").test_client()
    usual = {"REMOTE_ADDR": "10.1.0.1"}
    assert login(client, "editor", environ_base=usual).status_code == 302
    client.post("/logout", data={"csrf_token": csrf(client)}, environ_base=usual)
    for number in range(3):
        guess = login(client, "editor", "wrong-password",
                      environ_base={"REMOTE_ADDR": f"10.2.0.{number}"})
        assert guess.status_code == 401
    assert login(client, "editor", environ_base={"REMOTE_ADDR": "10.3.0.1"}).status_code == 429
    assert login(client, "editor", environ_base=usual).status_code == 302
    assert login(client, "bob", environ_base={"REMOTE_ADDR": "10.3.0.1"}).status_code == 302


def test_bad_feed_tokens_are_limited_per_address(client, auth):
    for number in range(10):
        assert client.get(f"/activity.atom?token=guess{number}").status_code == 404
    assert client.get("/activity.atom?token=guess-again").status_code == 429
    elsewhere = client.get("/activity.atom?token=guess-again",
                           environ_base={"REMOTE_ADDR": "10.4.4.4"})
    assert elsewhere.status_code == 404


def test_successful_logins_do_not_count(client, auth):
    for _ in range(12):
        assert auth.login("editor").status_code == 302
        auth.logout()


def test_limits_are_settings_and_can_be_switched_off(make_app):
    strict = make_app(login_limit_per_account="2/minute").test_client()
    for _ in range(2):
        assert login(strict, "reader", "wrong-password").status_code == 401
    assert login(strict, "reader", "wrong-password").status_code == 429
    unlimited = make_app(login_limit_per_account="", login_limit_per_address="").test_client()
    for _ in range(12):
        assert login(unlimited, "reader", "wrong-password").status_code == 401


def test_a_limit_that_is_not_a_rate_is_refused_at_start(make_app):
    with pytest.raises(config.SettingsError, match="login_limit_per_account"):
        make_app(login_limit_per_account="often")


def test_bad_api_tokens_are_limited_per_address_as_json(client, token):
    for number in range(10):
        refused = client.get("/api/v1/pages", headers={"Authorization": f"Bearer bad{number}"})
        assert refused.status_code == 401
    good = {"Authorization": f"Bearer {token('editor')}"}
    blocked = client.get("/api/v1/pages", headers=good)
    assert blocked.status_code == 429
    assert blocked.get_json()["error"]["code"] == "too_many_requests"
    assert TOO_MANY in blocked.get_json()["error"]["message"]
    assert int(blocked.headers["Retry-After"]) >= 1
    other = client.get("/api/v1/pages", headers=good, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert other.status_code == 200


def test_good_tokens_never_count(client, token):
    good = {"Authorization": f"Bearer {token('editor')}"}
    for _ in range(15):
        assert client.get("/api/v1/pages", headers=good).status_code == 200


def test_guessing_setup_links_is_limited(client):
    for number in range(10):
        assert client.get(f"/setup/guess{number}").status_code == 404
    assert client.get("/setup/guess-again").status_code == 429


# --- proxy sign-on ---------------------------------------------------------------------------

PROXY = "10.0.0.5"
SSO = {"proxy_auth_header": "X-Remote-User", "proxy_auth_trusted": PROXY,
       "proxy_auth_email_header": "X-Remote-Email", "proxy_auth_name_header": "X-Remote-Name",
       "proxy_auth_groups_header": "X-Remote-Groups"}


def as_proxy(client, url, user, address=PROXY, **headers):
    sent = {"X-Remote-User": user, **{f"X-Remote-{k.title()}": v for k, v in headers.items()}}
    return client.get(url, headers=sent, environ_base={"REMOTE_ADDR": address})


def forget_recent(app):
    app.extensions.get("kennis_proxy_seen", {}).clear()


def test_proxy_user_is_signed_in_only_from_the_trusted_address(make_app):
    sso = make_app(**SSO)
    client = sso.test_client()
    users = sso.extensions["kennis"].users
    trusted = as_proxy(client, "/api/v1/pages", "carol", email="carol@example.org",
                       name="Carol Jansen")
    assert trusted.status_code == 200
    carol = users.by_name("carol")
    assert carol.role == "editor" and carol.email == "carol@example.org"
    assert carol.display_name == "Carol Jansen"
    assert as_proxy(client, "/settings", "carol").status_code == 200

    assert as_proxy(client, "/api/v1/pages", "dave", address="10.0.0.6").status_code == 401
    assert users.by_name("dave") is None
    assert as_proxy(client, "/settings", "carol", address="10.0.0.6").status_code == 302
    assert as_proxy(client, "/api/v1/pages", "admin", address="127.0.0.1").status_code == 401


def test_proxy_sign_on_is_off_by_default(client, app):
    answer = as_proxy(client, "/api/v1/pages", "editor")
    assert answer.status_code == 401
    assert app.extensions["kennis"].users.by_name("editor").role == "editor"


def test_a_forwarded_address_does_not_make_a_request_trusted(make_app):
    sso = make_app(**SSO, trusted_proxies="10.0.0.1")
    client = sso.test_client()
    spoofed = client.get("/api/v1/pages", headers={"X-Remote-User": "carol",
                                                   "X-Forwarded-For": PROXY},
                         environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert spoofed.status_code == 401
    assert sso.extensions["kennis"].users.by_name("carol") is None


def test_proxy_user_is_created_once_and_follows_the_proxy(make_app):
    sso = make_app(**SSO, proxy_auth_role="reader")
    client = sso.test_client()
    services = sso.extensions["kennis"]
    before = services.users.count()
    for _ in range(3):
        assert as_proxy(client, "/api/v1/pages", "Erin", email="erin@example.org").status_code \
            == 200
        forget_recent(sso)
    assert services.users.count() == before + 1
    assert services.users.by_name("erin").role == "reader"
    as_proxy(client, "/api/v1/pages", "erin", email="erin.new@example.org", name="Erin B")
    erin = services.users.by_name("erin")
    assert (erin.email, erin.display_name) == ("erin.new@example.org", "Erin B")
    created = [e for e in services.acl.events() if e.action == "user.create"
               and e.subject.lower() == "erin"]
    assert len(created) == 1 and created[0].actor == "proxy"


def test_proxy_groups_are_synced_and_decide_access(make_app, make_page):
    sso = make_app(**SSO)
    services = sso.extensions["kennis"]
    make_page("HR/Salaries", "secret\n", user="admin")
    services.acl.set_rule("HR", "group:hr", None, actor="admin")
    client = sso.test_client()
    url = "/api/v1/pages/HR/Salaries"
    assert as_proxy(client, url, "frank", groups="hr, works-council").status_code == 200
    frank = services.users.by_name("frank")
    assert services.acl.groups_of(frank.id) == {"hr", "works-council"}
    forget_recent(sso)
    assert as_proxy(client, url, "frank", groups="works-council").status_code == 404
    assert services.acl.groups_of(frank.id) == {"works-council"}
    events = [(e.actor, e.action, e.subject) for e in services.acl.events()]
    assert ("proxy", "group.remove", "hr") in events
    assert ("proxy", "group.add", "hr") in events
    forget_recent(sso)
    as_proxy(client, url, "frank")  # no groups header: groups stay as they are
    assert services.acl.groups_of(frank.id) == {"works-council"}


def test_proxy_users_read_but_do_not_write_through_the_api(make_app):
    client = make_app(**SSO).test_client()
    answer = client.put("/api/v1/pages/From Proxy", json={"markdown": "x"},
                        headers={"X-Remote-User": "gina"}, environ_base={"REMOTE_ADDR": PROXY})
    assert answer.status_code == 403


def test_proxy_name_that_is_not_a_user_name_signs_nobody_in(make_app):
    sso = make_app(**SSO)
    assert as_proxy(sso.test_client(), "/api/v1/pages", "bad name/../x").status_code == 401


def test_networks_in_settings_are_checked():
    with pytest.raises(config.SettingsError, match="trusted_proxies"):
        config.load("/nonexistent", environ={}, trusted_proxies="10.0.0.0/33")
    with pytest.raises(config.SettingsError, match="proxy_auth_role"):
        config.load("/nonexistent", environ={}, proxy_auth_role="boss")


# --- cookies and sessions --------------------------------------------------------------------

def cookie_headers(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_cookies_are_httponly_and_samesite_lax_and_not_secure_over_http(client):
    client.get("/login")
    cookies = cookie_headers(post_form(client, "/login", {"name": "editor",
                                                          "password": PASSWORD,
                                                          "remember": "1"}))
    assert set(cookies) >= {"session", "remember_token"}
    for header in cookies.values():
        assert "HttpOnly" in header and "SameSite=Lax" in header
        assert "Secure" not in header


def test_cookies_are_secure_over_https(app):
    client = app.test_client()
    client.get("/login", base_url="https://localhost")
    response = client.post("/login", base_url="https://localhost",
                           headers={"Referer": "https://localhost/login"},
                           data={"name": "editor", "password": PASSWORD, "remember": "1",
                                 "csrf_token": csrf(client)})
    assert response.status_code == 302
    cookies = cookie_headers(response)
    assert set(cookies) >= {"session", "remember_token"}
    assert all("Secure" in header for header in cookies.values())


def test_cookies_are_secure_when_the_setting_says_so(make_app):
    client = make_app(session_cookie_secure=True).test_client()
    assert "Secure" in cookie_headers(client.get("/login"))["session"]


def test_forwarded_proto_counts_only_from_a_trusted_proxy(make_app):
    client = make_app(trusted_proxies="10.0.0.1").test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}
    trusted = client.get("/login", headers=https, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert "Secure" in cookie_headers(trusted)["session"]
    other = make_app(trusted_proxies="10.0.0.1").test_client()
    untrusted = other.get("/login", headers=https, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert "Secure" not in cookie_headers(untrusted)["session"]


def test_forwarded_for_from_a_trusted_proxy_limits_each_client_apart(make_app):
    client = make_app(trusted_proxies="10.0.0.1").test_client()

    def from_client(address, name, password="wrong-password"):  # noqa: S107
        return login(client, name, password, headers={"X-Forwarded-For": address},
                     environ_base={"REMOTE_ADDR": "10.0.0.1"})

    for number in range(10):
        assert from_client("192.0.2.7", f"guess{number}").status_code == 401
    assert from_client("192.0.2.7", "bob", PASSWORD).status_code == 429
    assert from_client("192.0.2.8", "bob", PASSWORD).status_code == 302


def _logged_in_client(app, remember=False):
    client = app.test_client()
    AuthActions(client).login("editor") if not remember else post_form(
        client, "/login", {"name": "editor", "password": PASSWORD, "remember": "1"})
    assert client.get("/settings").status_code == 200
    return client


def _replay(app, **cookies):
    replay = app.test_client()
    for name, value in cookies.items():
        replay.set_cookie(name, value)
    return replay.get("/settings")


def test_an_old_session_cookie_stops_working_after_logout(app):
    client = _logged_in_client(app)
    old = client.get_cookie("session").value
    assert _replay(app, session=old).status_code == 200
    AuthActions(client).logout()
    assert _replay(app, session=old).status_code == 302


def test_an_old_remember_me_cookie_stops_working_after_logout(app):
    client = _logged_in_client(app, remember=True)
    old = client.get_cookie("remember_token").value
    assert _replay(app, remember_token=old).status_code == 200
    AuthActions(client).logout()
    assert _replay(app, remember_token=old).status_code == 302


def test_old_cookies_stop_working_after_a_password_change(app):
    other_browser = _logged_in_client(app, remember=True)
    old = {"session": other_browser.get_cookie("session").value,
           "remember_token": other_browser.get_cookie("remember_token").value}
    client = _logged_in_client(app)
    changed = post_form(client, "/settings", {"language": "", "email": "editor@example.org",
                                              "display_name": "", "current": PASSWORD,
                                              "password": "a-brand-new-password"})
    assert changed.status_code == 302
    assert client.get("/settings").status_code == 200  # the one who changed it stays in
    assert _replay(app, **old).status_code == 302
    assert other_browser.get("/settings").status_code == 302


# --- security headers ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/login", "/wiki/Home", "/no/such/route"])
def test_html_responses_carry_the_security_headers(client, auth, url):
    auth.login()
    response = client.get(url)
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'self'" in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_json_responses_are_nosniff(client):
    assert client.get("/api/v1/openapi.json").headers["X-Content-Type-Options"] == "nosniff"


def test_frame_ancestors_can_allow_the_portal(make_app):
    response = make_app(frame_ancestors=f"'self', {PORTAL}").test_client().get("/login")
    assert f"frame-ancestors 'self' {PORTAL};" in response.headers["Content-Security-Policy"] \
        + ";"
    assert "X-Frame-Options" not in response.headers


def test_frame_ancestors_none_denies_every_frame(make_app):
    response = make_app(frame_ancestors="'none'").test_client().get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_frame_ancestors_cannot_smuggle_other_directives(make_app):
    with pytest.raises(config.SettingsError, match="frame_ancestors"):
        make_app(frame_ancestors="'self'; script-src *")


# --- CORS ------------------------------------------------------------------------------------

def test_no_cors_without_configured_origins(client, token):
    answer = client.get("/api/v1/pages", headers={"Origin": PORTAL,
                                                  "Authorization": f"Bearer {token()}"})
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_for_configured_origins_on_api_reads_only(make_app, token):
    client = make_app(cors_origins=f"{PORTAL}, https://intranet.example.org").test_client()
    bearer = {"Authorization": f"Bearer {token()}"}
    read = client.get("/api/v1/pages", headers={"Origin": PORTAL, **bearer})
    assert read.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Origin" in read.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in read.headers
    search = client.get("/api/v1/search?q=x", headers={"Origin": PORTAL, **bearer})
    assert search.headers["Access-Control-Allow-Origin"] == PORTAL  # any /api/v1/ path
    opensearch = client.get("/opensearch.xml", headers={"Origin": PORTAL})
    assert opensearch.headers["Access-Control-Allow-Origin"] == PORTAL

    stranger = client.get("/api/v1/pages", headers={"Origin": "https://evil.example", **bearer})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    write = client.put("/api/v1/pages/Cors", json={"markdown": "x"},
                       headers={"Origin": PORTAL, **bearer})
    assert "Access-Control-Allow-Origin" not in write.headers
    page = client.get("/login", headers={"Origin": PORTAL})
    assert "Access-Control-Allow-Origin" not in page.headers

    preflight = client.options("/api/v1/pages/Team/Home", headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    write_preflight = client.options("/api/v1/pages/Team/Home", headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "PUT"})
    assert "Access-Control-Allow-Origin" not in write_preflight.headers


def test_cors_credentials_echo_the_origin_never_a_star(make_app):
    client = make_app(cors_origins=PORTAL, cors_allow_credentials=True).test_client()
    read = client.get("/api/v1/pages", headers={"Origin": PORTAL})
    assert read.headers["Access-Control-Allow-Origin"] == PORTAL
    assert read.headers["Access-Control-Allow-Credentials"] == "true"


def test_cors_star_is_refused(make_app):
    with pytest.raises(config.SettingsError, match="cors_origins"):
        make_app(cors_origins="*")


# --- unsafe names in the API -----------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/pages/..", "/api/v1/pages/a/../b",
                                 "/api/v1/pages/%2e%2e", "/api/v1/history/..",
                                 "/api/v1/diff/.git/config", "/api/v1/pages/.hidden"])
def test_unsafe_page_names_are_a_400_json_error(client, token, url):
    answer = client.get(url, headers={"Authorization": f"Bearer {token()}"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_path"


def test_the_429_page_speaks_dutch(client):
    for _ in range(5):
        login(client, "nobody", "wrong-password")
    blocked = login(client, "nobody", "wrong-password", headers={"Accept-Language": "nl"})
    assert blocked.status_code == 429
    assert "Te veel mislukte pogingen" in blocked.get_data(as_text=True)


def test_openapi_document_declares_the_errors_each_operation_answers(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            assert {"400", "401", "429"} <= codes and not codes & {"default", "422"}, path
            if method in ("put", "post", "patch", "delete"):
                assert {"403", "404"} <= codes, (method, path)
    page = spec["paths"]["/api/v1/pages/{path}"]
    assert page["parameters"][0]["schema"]["minLength"] == 1
    assert {"409", "413"} <= set(page["put"]["responses"])
