"""The ```poll block parser (issue 18), hostile input included."""

from datetime import date

import pytest

from wiki.polls import MAX_BLOCK_CHARS, MAX_OPTIONS, PollError, blocks, parse

EXAMPLE = """Which date suits the team day?
- 12 March
- 19 March
multiple: no
anonymous: yes
closes: 2026-12-20
"""


def test_the_example_of_the_issue():
    poll = parse(EXAMPLE)
    assert [q.text for q in poll.questions] == ["Which date suits the team day?"]
    assert [o.label for o in poll.questions[0].options] == ["12 March", "19 March"]
    assert (poll.multiple, poll.anonymous, poll.closes) == (False, True, date(2026, 12, 20))


def test_several_questions_make_a_survey_and_ids_follow_the_text():
    survey = parse("Lunch?\n- yes\n- no\nWhere?\n- canteen\n- park\n- office\nmultiple: yes")
    assert [len(q.options) for q in survey.questions] == [2, 3]
    assert survey.multiple and not survey.anonymous and survey.closes is None
    edited = parse("Lunch?\n- yes\n- maybe\nWhere?\n- canteen\n- park\n- office")
    assert edited.questions[0].key == survey.questions[0].key  # same question: same poll
    assert edited.questions[0].options[0].id == survey.questions[0].options[0].id
    assert edited.questions[0].options[1].id != survey.questions[0].options[1].id


@pytest.mark.parametrize("text, message", [
    ("", "needs a question"),
    ("- 1\n- 2", "after its question"),
    ("Q?\n- only one", "at least two"),
    ("Q?\n- a\n- a", "twice"),
    ("Q?\n- a\n- b\nQ?\n- c\n- d", "twice"),
    ("Q?\n- a\n- b\nmultiple: perhaps", "yes or no"),
    ("Q?\n- a\n- b\ncloses: next week", "date"),
    ("Q?\n-  \n- b", "question"),
])
def test_bad_blocks_say_what_is_wrong(text, message):
    with pytest.raises(PollError, match=message):
        parse(text)


def test_hostile_input_is_refused_before_work():
    many = "Q?\n" + "".join(f"- option {i}\n" for i in range(10_000))
    with pytest.raises(PollError, match=f"at most {MAX_OPTIONS} options|at most 20,000"):
        parse(many)
    with pytest.raises(PollError, match=f"at most {MAX_OPTIONS} options"):
        parse("Q?\n" + "".join(f"- {i}\n" for i in range(MAX_OPTIONS + 1)))
    with pytest.raises(PollError, match="longer than"):
        parse("Q?\n- " + "x" * 1_000 + "\n- b")
    with pytest.raises(PollError):
        parse(None)
    huge_page = "```poll\nQ?\n" + "- x\n" * (MAX_BLOCK_CHARS) + "```\n"
    [found] = blocks(huge_page)
    assert found.poll is None and "at most" in found.error


def test_blocks_in_a_page_nested_fences_and_errors():
    page = (
        "# Team day\n\n```poll\n" + EXAMPLE + "```\n\n"
        "How to write a poll:\n\n````markdown\n```poll\nNot a poll\n- a\n- b\n```\n````\n\n"
        "~~~poll\nBroken\n~~~\n\n```python\nprint('```poll')\n```\n"
        "```poll\nLast?\n- a\n- b\n"  # unclosed: runs to the end, as in Markdown
    )
    found = blocks(page)
    assert [f.index for f in found] == [0, 1, 2]
    assert found[0].poll.questions[0].text == "Which date suits the team day?"
    assert found[1].poll is None and "at least two" in found[1].error
    assert found[2].poll.questions[0].text == "Last?"
    assert blocks(None) == [] and blocks("no polls here") == []
