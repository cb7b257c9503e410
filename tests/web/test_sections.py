"""Section editing: one section in the editor, saved through the page's 3-way merge."""

from tests.conftest import post_form

PAGE = "# One\n\nfirst\n\n# Two\n\nsecond\n"


def test_the_editor_shows_one_section_and_saves_it_in_place(app, client, auth, make_page):
    base = make_page("Doc", PAGE).revision
    auth.login()
    html = client.get("/edit/Doc?section=2").get_data(as_text=True)
    assert "second" in html and "first" not in html
    response = post_form(client, "/edit/Doc", {"markdown": "# Two\n\nSECOND\n", "section": "2",
                                               "base": base})
    assert response.status_code == 302
    assert client.get("/raw/Doc").get_data(as_text=True) == "# One\n\nfirst\n\n# Two\n\nSECOND\n"


def test_two_colleagues_editing_different_sections_never_conflict(app, client, auth,
                                                                  make_page):
    base = make_page("Doc", PAGE).revision
    make_page("Doc", "# One\n\nFIRST by bob\n\n# Two\n\nsecond\n", user="bob")
    auth.login()
    response = post_form(client, "/edit/Doc", {"markdown": "# Two\n\nSECOND by editor\n",
                                               "section": "2", "base": base})
    assert response.status_code == 302
    assert client.get("/raw/Doc").get_data(as_text=True) == (
        "# One\n\nFIRST by bob\n\n# Two\n\nSECOND by editor\n")


def test_a_missing_section_is_a_clear_400(app, client, auth, make_page):
    base = make_page("Doc", PAGE).revision
    auth.login()
    assert client.get("/edit/Doc?section=9").status_code == 400
    assert post_form(client, "/edit/Doc", {"markdown": "x", "section": "9",
                                           "base": base}).status_code == 400
