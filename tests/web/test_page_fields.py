"""Title, tags and language as the editor's fields, written as front matter in place."""

import re

from tests.conftest import post_form

PAGE = "---\ntitle: Plan\naudience: all staff  # kept\n---\n\n# Plan\n\nText.\n"


def _form(html: str) -> dict:
    """The editor's fields as a browser would post them (textareas drop one first newline)."""
    def textarea(name):
        found = re.search(rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', html, re.S)
        return found.group(1).replace("&#39;", "'").replace("&gt;", ">").replace(
            "&lt;", "<").replace("&#34;", '"').replace("&amp;", "&")

    def value(name):
        return re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1)

    return {"fields": "1", "markdown": textarea("markdown"),
            "frontmatter": textarea("frontmatter"), "title": value("title"),
            "tags": value("tags"), "lang": "", "base": value("base")}


def test_saving_unchanged_makes_no_commit(app, client, auth, make_page):
    revision = make_page("Plan", PAGE).revision
    auth.login()
    form = _form(client.get("/edit/Plan").get_data(as_text=True))
    assert form["title"] == "Plan" and form["markdown"] == "\n# Plan\n\nText.\n"
    post_form(client, "/edit/Plan", form)
    services = app.extensions["kennis"]
    assert services.repo.head() == revision
    assert client.get("/raw/Plan").get_data(as_text=True) == PAGE


def test_changing_a_field_changes_one_line(app, client, auth, make_page):
    make_page("Plan", PAGE)
    auth.login()
    form = _form(client.get("/edit/Plan").get_data(as_text=True))
    form.update(title="Plan for 2027", tags="planning, 2027")
    assert post_form(client, "/edit/Plan", form).status_code == 302
    assert client.get("/raw/Plan").get_data(as_text=True) == (
        "---\ntitle: Plan for 2027\naudience: all staff  # kept\ntags: [planning, \"2027\"]\n---\n"
        "\n# Plan\n\nText.\n")
