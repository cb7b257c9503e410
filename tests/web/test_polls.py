"""Polls in pages through the API (issue 18): results after voting, one vote per person,
bad votes refused, closed polls, anonymous polls keep no link, restricted pages hide polls."""

import threading
from datetime import date, timedelta

from sqlalchemy import select

from tests.conftest import PASSWORD
from wiki.polls import PollChoice

POLL = """# Team day

```poll
Which date suits the team day?
- 12 March
- 19 March
multiple: no
anonymous: {anonymous}
closes: {closes}
```
"""


def page(make_page, name="Team/Day", anonymous="no", closes=None):
    closes = closes or (date.today() + timedelta(days=30)).isoformat()
    make_page(name, POLL.format(anonymous=anonymous, closes=closes))


def api(client, token, method, url, body=None):
    return client.open(url, method=method, json=body,
                       headers={"Authorization": f"Bearer {token}"})


def test_vote_results_and_change(client, make_page, token):
    page(make_page)
    bob, editor = token("bob"), token("editor")
    [poll] = api(client, bob, "GET", "/api/v1/polls?page=Team/Day").get_json()["polls"]
    assert poll["question"] == "Which date suits the team day?"
    assert [o["votes"] for o in poll["options"]] == [None, None]  # results after voting
    first, second = (o["id"] for o in poll["options"])
    voted = api(client, bob, "POST", f"/api/v1/polls/{poll['id']}/vote", {"options": [first]})
    assert voted.status_code == 200
    assert [o["votes"] for o in voted.get_json()["options"]] == [1, 0]
    again = api(client, bob, "POST", f"/api/v1/polls/{poll['id']}/vote", {"options": [second]})
    assert [o["votes"] for o in again.get_json()["options"]] == [0, 1]  # changed, not added
    assert again.get_json()["my_vote"] == [second] and again.get_json()["total"] == 1
    for body in ({"options": [first, second]}, {"options": ["nope"]}, {"options": []},
                 {"options": "x"}):
        assert api(client, editor, "POST", f"/api/v1/polls/{poll['id']}/vote",
                   body).status_code == 400, body
    assert api(client, editor, "POST", "/api/v1/polls/999999/vote",
               {"options": [first]}).status_code == 404


def test_closed_polls_show_results_and_refuse_votes(client, make_page, token):
    page(make_page, closes="2020-01-01")
    [poll] = api(client, token("bob"), "GET", "/api/v1/polls?page=Team/Day").get_json()["polls"]
    assert poll["closed"] and [o["votes"] for o in poll["options"]] == [0, 0]
    refused = api(client, token("bob"), "POST", f"/api/v1/polls/{poll['id']}/vote",
                  {"options": [poll["options"][0]["id"]]})
    assert refused.status_code == 409


def test_anonymous_polls_store_no_link(app, client, make_page, token):
    page(make_page, anonymous="yes")
    bob = token("bob")
    [poll] = api(client, bob, "GET", "/api/v1/polls?page=Team/Day").get_json()["polls"]
    option = poll["options"][0]["id"]
    assert api(client, bob, "POST", f"/api/v1/polls/{poll['id']}/vote",
               {"options": [option]}).status_code == 200
    assert api(client, bob, "POST", f"/api/v1/polls/{poll['id']}/vote",
               {"options": [option]}).status_code == 409
    with app.extensions["kennis"].db.session() as s:
        assert list(s.scalars(select(PollChoice.user_id))) == [None]


def test_edits_keep_votes_and_malformed_blocks_are_reported(client, make_page, token):
    page(make_page)
    bob = token("bob")
    [poll] = api(client, bob, "GET", "/api/v1/polls?page=Team/Day").get_json()["polls"]
    api(client, bob, "POST", f"/api/v1/polls/{poll['id']}/vote",
        {"options": [poll["options"][1]["id"]]})
    make_page("Team/Day", POLL.format(anonymous="no", closes="2099-01-01").replace(
        "- 12 March", "- 26 March") + "\n```poll\nBroken\n```\n")
    answer = api(client, bob, "GET", "/api/v1/polls?page=Team/Day").get_json()
    [edited] = answer["polls"]
    assert edited["id"] == poll["id"]
    assert [(o["label"], o["votes"]) for o in edited["options"]] == [("26 March", 0),
                                                                     ("19 March", 1)]
    assert answer["errors"] == ["The question 'Broken' needs at least two options."]


def test_restricted_page_hides_its_polls(app, client, make_page, token):
    services = app.extensions["kennis"]
    services.users.create("hrperson", PASSWORD, role="editor")
    services.acl.add_members("hr", ["hrperson"], actor="test")
    page(make_page, "HR/Poll", "no")
    services.acl.set_rule("HR", "group:hr", None, actor="test")
    [poll] = api(client, token("hrperson"), "GET", "/api/v1/polls?page=HR/Poll").get_json()[
        "polls"]
    editor = token("editor")
    assert api(client, editor, "GET", "/api/v1/polls?page=HR/Poll").status_code == 404
    assert api(client, editor, "GET", "/api/v1/polls?page=HR/Missing").status_code == 404
    assert api(client, editor, "POST", f"/api/v1/polls/{poll['id']}/vote",
               {"options": [poll["options"][0]["id"]]}).status_code == 404


def test_parallel_voters_count_once(app, make_page):
    services = app.extensions["kennis"]
    page(make_page)
    bob = services.users.by_name("bob")
    [poll], _ = services.polls.polls(bob, "Team/Day")
    barrier, errors = threading.Barrier(8), []

    def vote():
        barrier.wait()
        try:
            services.polls.vote(bob, poll.id, [poll.options[0][0]])
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=vote) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    [after], _ = services.polls.polls(bob, "Team/Day")
    assert after.total == 1 and after.options[0][2] == 1
