"""Co-editing: merges, conflicts, and saves by the same user."""

from tests.conftest import post_form


def save(client, name, text, base=""):
    return post_form(client, f"/edit/{name}", {"markdown": text, "base": base})


def test_non_overlapping_edits_are_merged(app, client, auth, make_page):
    base = make_page("Plan", "intro\n\nmiddle\n\nend\n").revision
    make_page("Plan", "INTRO by bob\n\nmiddle\n\nend\n", user="bob")
    auth.login()
    response = save(client, "Plan", "intro\n\nmiddle\n\nEND by editor\n", base=base)
    assert response.status_code == 302
    text = client.get("/raw/Plan").get_data(as_text=True)
    assert text == "INTRO by bob\n\nmiddle\n\nEND by editor\n"
    assert "merged" in client.get("/wiki/Plan").get_data(as_text=True)


def test_overlapping_edits_show_a_conflict_and_save_nothing(app, client, auth, make_page):
    base = make_page("Plan", "one line\n").revision
    theirs = make_page("Plan", "their line\n", user="bob").revision
    auth.login()
    response = save(client, "Plan", "my line\n", base=base)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "their line" in html and "my line" in html
    assert "&lt;&lt;&lt;&lt;&lt;&lt;&lt;" not in html  # changes side by side, no git markers
    assert client.get("/raw/Plan").get_data(as_text=True) == "their line\n"
    # The conflict form carries the current revision: resolving and saving works.
    assert f'value="{theirs}"' in html
    assert save(client, "Plan", "resolved line\n", base=theirs).status_code == 302
    assert client.get("/raw/Plan").get_data(as_text=True) == "resolved line\n"


def test_the_same_users_consecutive_saves_never_conflict(app, client, auth, make_page):
    base = make_page("Mine", "v1\n").revision
    auth.login()
    assert save(client, "Mine", "v2\n", base=base).status_code == 302
    # The same form again (stale base), as after pressing Ctrl+S twice.
    assert save(client, "Mine", "v3\n", base=base).status_code == 302
    assert client.get("/raw/Mine").get_data(as_text=True) == "v3\n"


def test_every_save_is_one_commit_by_the_logged_in_user(app, client, auth):
    auth.login("bob")
    save(client, "Authored", "text\n")
    services = app.extensions["kennis"]
    commit = services.repo.commit_info(services.repo.head())
    assert commit.author.name == "bob" and commit.author.email == "bob@kennis.invalid"


def test_two_tabs_of_one_user_merge_what_does_not_overlap(app, client, auth, make_page):
    base = make_page("Tabs", "top\n\nmiddle\n\nbottom\n", user="editor").revision
    auth.login()
    tab1, tab2 = "TOP from tab 1\n\nmiddle\n\nbottom\n", "top\n\nmiddle\n\nBOTTOM from tab 2\n"
    assert save(client, "Tabs", tab1, base=base).status_code == 302
    assert save(client, "Tabs", tab2, base=base).status_code == 302
    assert client.get("/raw/Tabs").get_data(as_text=True) == (
        "TOP from tab 1\n\nmiddle\n\nBOTTOM from tab 2\n")


def _conflict(client, auth, make_page):
    base = make_page("Plan", "intro\n\none line\n\nend\n").revision
    theirs = make_page("Plan", "intro\n\ntheir line\n\nend\n", user="bob",
                       message="Bob's fix").revision
    auth.login()
    response = save(client, "Plan", "intro\n\nmy line\n\nend\n", base=base)
    assert response.status_code == 409
    return theirs, response.get_data(as_text=True)


def test_the_conflict_screen_shows_each_change_and_who_made_the_other(app, client, auth,
                                                                        make_page):
    theirs, html = _conflict(client, auth, make_page)
    assert "my line" in html and "their line" in html
    assert "bob" in html and "Bob&#39;s fix" in html
    assert "&lt;&lt;&lt;&lt;&lt;&lt;&lt;" not in html  # no git markers shown to colleagues
    assert f'name="base" value="{theirs}"' in html


def _resolve(client, choice, edited="", base=""):
    return post_form(client, "/resolve/Plan", {
        "base": base, "parts": "3", "text-0": "intro\n\n", "mine-1": "my line\n",
        "theirs-1": "their line\n", "choice-1": choice, "edit-1": edited,
        "text-2": "\nend\n"})


def test_keep_both_saves_both_changes_without_markers(app, client, auth, make_page):
    theirs, _ = _conflict(client, auth, make_page)
    assert _resolve(client, "both", base=theirs).status_code == 302
    assert client.get("/raw/Plan").get_data(as_text=True) == (
        "intro\n\nmy line\ntheir line\n\nend\n")


def test_keep_mine_theirs_and_edit(app, client, auth, make_page):
    theirs, _ = _conflict(client, auth, make_page)
    assert _resolve(client, "theirs", base=theirs).status_code == 302  # nothing changes
    assert "their line" in client.get("/raw/Plan").get_data(as_text=True)
    assert _resolve(client, "edit", "our line", base=theirs).status_code == 302
    assert client.get("/raw/Plan").get_data(as_text=True) == "intro\n\nour line\n\nend\n"


def test_conflict_markers_are_never_saved_from_the_web(app, client, auth, make_page):
    theirs, _ = _conflict(client, auth, make_page)
    marked = "intro\n<<<<<<< yours\nmy line\n=======\ntheir line\n>>>>>>> theirs\nend\n"
    response = save(client, "Plan", marked, base=theirs)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "conflict markers" in html
    assert "my line" in html  # the text stays in the editor
    assert client.get("/raw/Plan").get_data(as_text=True) == "intro\n\ntheir line\n\nend\n"
    # Typed into an "edit" box on the conflict screen: refused the same way.
    response = _resolve(client, "edit", "<<<<<<< yours\na\n=======\nb\n>>>>>>> theirs\n",
                        base=theirs)
    assert response.status_code == 400
    assert client.get("/raw/Plan").get_data(as_text=True) == "intro\n\ntheir line\n\nend\n"


def test_a_bad_conflict_form_is_a_400(app, client, auth, make_page):
    auth.login()
    assert post_form(client, "/resolve/Plan", {"parts": "x"}).status_code == 400
    assert post_form(client, "/resolve/Plan", {"parts": "1", "mine-0": "a", "theirs-0": "b",
                                               "choice-0": "nope"}).status_code == 400
