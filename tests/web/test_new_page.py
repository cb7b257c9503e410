"""The New page action: title, namespace and template to an editor on a free name."""

from tests.conftest import post_form


def test_new_page_from_a_template_opens_the_editor_and_saves(app, client, auth, make_page):
    make_page("Team/Home", "team\n")
    auth.login()
    form = client.get("/new?ns=Team").get_data(as_text=True)
    assert 'value="Team"' in form and "Templates/Meeting-notes" in form
    assert '<option value="Team">' in form  # namespaces offered for autocomplete
    response = post_form(client, "/new", {"title": "Retro week 49", "namespace": "Team",
                                          "template": "Templates/Meeting-notes"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Team/Retro-week-49" in html and "# Retro week 49" in html
    assert "{{date}}" not in html and "editor" in html
    saved = post_form(client, "/edit/Team/Retro-week-49",
                      {"markdown": "# Retro week 49\n", "create_only": "1"})
    assert saved.status_code == 302
    assert client.get("/raw/Team/Retro-week-49").get_data(as_text=True) == "# Retro week 49\n"


def test_a_taken_name_is_offered_an_alternative_and_never_overwritten(app, client, auth,
                                                                      make_page):
    make_page("Plan", "the old plan\n")
    auth.login()
    html = post_form(client, "/new", {"title": "Plan"}).get_data(as_text=True)
    assert "Plan-2" in html and "already exists" in html
    # Saving a new page over one made meanwhile is refused, the text kept.
    response = post_form(client, "/edit/Plan", {"markdown": "my new plan\n", "create_only": "1"})
    assert response.status_code == 409
    assert "my new plan" in response.get_data(as_text=True)
    assert client.get("/raw/Plan").get_data(as_text=True) == "the old plan\n"


def test_bad_titles_and_namespaces_are_clear_messages(app, client, auth):
    auth.login()
    for data in ({"title": "!!!"}, {"title": "Ok", "namespace": "../etc"},
                 {"title": "Ok", "template": "Nope/Missing"}, {"title": "Ok", "namespace": ".git"}):
        response = post_form(client, "/new", data)
        assert response.status_code == 400, data
        assert 'class="flash error"' in response.get_data(as_text=True)


def test_readers_and_visitors_cannot_start_pages(app, client, auth):
    assert client.get("/new").status_code == 302  # to the login page
    auth.login("reader")
    assert post_form(client, "/new", {"title": "Mine"}).status_code == 403
