"""Finding your way: the page tree, child pages, breadcrumbs and titles, as readers see them."""

import re

import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def wiki(app, make_page):
    services = app.extensions["kennis"]
    make_page("Projects", "# Projects overview\n\nAll projects.\n")
    make_page("Projects/Intranet Relaunch", "# Intranet relaunch\n\nSee [[Projects/Intranet "
              "Relaunch/Style guide]] and [[Projects/Intranet Relaunch/Style guide|the "
              "guide]].\n")
    make_page("Projects/Intranet Relaunch/Style guide", "# Style guide\n\nColours.\n")
    make_page("Projects/Intranet Relaunch/Budget", "# Budget 2027\n\nMoney.\n")
    make_page("HR/Salaries", "# Salary table\n\nHIDDEN-TEXT\n")
    make_page("HR/Policies/Leave", "# Leave policy\n\nHIDDEN-TEXT\n")
    services.users.create("hrperson", PASSWORD, role="editor")
    services.acl.add_members("hr", ["hrperson"], actor="test")
    services.acl.set_rule("HR", "group:hr", None, actor="test")
    return services


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_wikilink_without_label_shows_the_title(client, auth, wiki):
    auth.login("editor")
    page = text(client.get("/wiki/Projects/Intranet Relaunch"))
    assert ">Style guide</a>" in page
    assert ">Projects/Intranet Relaunch/Style guide</a>" not in page
    assert ">the guide</a>" in page  # a label the author typed stays
    assert 'href="/wiki/Projects/Intranet%20Relaunch/Style%20guide"' in page


def test_breadcrumb_names_every_namespace_by_title(client, auth, wiki):
    auth.login("editor")
    page = text(client.get("/wiki/Projects/Intranet Relaunch/Style guide"))
    crumbs = page.split('class="crumbs"')[1].split("</nav>")[0]
    assert "Projects overview" in crumbs and "Intranet relaunch" in crumbs


def test_a_page_lists_its_child_pages(client, auth, wiki):
    auth.login("editor")
    page = text(client.get("/wiki/Projects/Intranet Relaunch"))
    children = page.split('class="child-pages"')[1].split("</nav>")[0]
    assert "Style guide" in children and "Budget 2027" in children


def test_tree_loads_one_namespace_and_opens_the_path_to_the_page(client, auth, wiki):
    auth.login("editor")
    top = text(client.get("/tree"))
    assert "Projects overview" in top and "Budget 2027" not in top
    level = text(client.get("/tree/Projects/Intranet Relaunch"))
    assert "Budget 2027" in level and "Style guide" in level
    opened = text(client.get("/tree?open=Projects/Intranet Relaunch/Budget"))
    assert 'aria-current="page">Budget 2027' in opened


def test_hidden_namespace_is_never_in_tree_children_or_breadcrumbs(client, auth, wiki):
    auth.login("editor")
    for url in ("/tree", "/tree/HR", "/tree/HR/Policies", "/tree?open=HR/Policies/Leave",
                "/wiki/Projects", "/index"):
        body = client.get(url).get_data(as_text=True)
        assert "HR" not in body.replace("HREF", "").replace("href", ""), url
        assert "Salary" not in body and "Leave policy" not in body, url


def test_members_see_the_namespace_in_the_tree(client, auth, wiki):
    auth.login("hrperson")
    top = text(client.get("/tree"))
    assert ">HR</a>" in top
    assert "Leave policy" in text(client.get("/tree/HR/Policies"))


def test_a_missing_page_offers_search_its_namespace_and_creation(client, auth, wiki):
    auth.login("editor")
    response = client.get("/wiki/Projects/Style")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "/search?q=Style" in body
    assert 'href="/index/Projects"' in body
    assert 'href="/wiki/Projects/Intranet%20Relaunch/Style%20guide"' in body  # similar title
    assert "Create this page" in body
    auth.logout()
    auth.login("reader")
    assert "Create this page" not in client.get("/wiki/Projects/Style").get_data(as_text=True)


def test_a_hidden_page_answers_like_a_missing_one(client, auth, wiki):
    auth.login("editor")
    hidden = client.get("/wiki/HR/Salaries")
    missing = client.get("/wiki/HR/Wages")
    assert hidden.status_code == missing.status_code == 404
    def same(response, name):  # the form tokens carry a timestamp
        body = response.get_data(as_text=True).replace(name, "X")
        return re.sub(r'name="csrf_token" value="[^"]*"', "", body)

    assert same(hidden, "Salaries") == same(missing, "Wages")


def test_a_refused_action_links_back_to_the_page(client, auth, wiki):
    auth.login("reader")
    response = client.get("/edit/Projects/Intranet Relaunch")
    assert response.status_code == 403
    assert 'href="/wiki/Projects/Intranet%20Relaunch"' in response.get_data(as_text=True)


def test_dutch_page_content_carries_its_language(client, auth, wiki, make_page):
    make_page("Projects/Verlof", "---\nlang: nl\n---\n# Verlof\n\nTekst.\n")
    auth.login("editor")
    assert '<article class="page-content" lang="nl">' in text(client.get("/wiki/Projects/Verlof"))


def test_history_and_diff_name_versions_by_author_and_date(client, auth, wiki, make_page):
    make_page("Projects/Budget", "One.\n", user="bob")
    make_page("Projects/Budget", "Two.\n", user="editor")
    auth.login("editor")
    revisions = wiki.catalog.history("Projects/Budget")
    diff = text(client.get("/diff/Projects/Budget"))
    assert f'title="{revisions[0].revision}">editor, ' in diff
    assert f'title="{revisions[1].revision}">bob, ' in diff
    assert revisions[0].revision[:10] + "<" not in diff


def test_inbox_groups_changes_per_page_with_a_diff_since_the_last_look(client, auth, wiki,
                                                                        make_page):
    editor = wiki.users.by_name("editor")
    make_page("Projects/Plan", "Version one.\n", user="bob")
    wiki.notify.watch(editor, "Projects/Plan")
    make_page("Projects/Plan", "Version two.\n", user="bob")
    make_page("Projects/Plan", "Version three.\n", user="admin")
    first = wiki.catalog.history("Projects/Plan")[-1].revision
    auth.login("editor")
    inbox = text(client.get("/inbox"))
    assert inbox.count("Projects/Plan") >= 1
    assert "2 changes by admin, bob" in inbox or "2 changes by bob, admin" in inbox
    assert f"/diff/Projects/Plan?from={first}" in inbox
    assert "Email me about notifications" not in inbox  # no mail server configured
    mentions = text(client.get("/inbox?show=mentions"))
    assert "2 changes by" not in mentions
