"""Conflict markers: found, parsed into changes, resolved per change."""

from wiki import conflicts

MERGED = ("intro\n<<<<<<< yours\nmy line\n=======\ntheir line\n>>>>>>> theirs\nend\n")


def test_parse_cuts_agreed_text_and_changes():
    parts = conflicts.parse(MERGED)
    assert parts == [conflicts.Part("intro\n"), conflicts.Part("my line\n", "their line\n"),
                     conflicts.Part("end\n")]
    assert "".join(p.mine for p in parts if not p.conflict) == "intro\nend\n"


def test_each_choice_makes_its_text():
    part = conflicts.parse(MERGED)[1]
    assert conflicts.resolve(part, "mine") == "my line\n"
    assert conflicts.resolve(part, "theirs") == "their line\n"
    assert conflicts.resolve(part, "both") == "my line\ntheir line\n"
    assert conflicts.resolve(part, "edit", "ours\r\ntogether") == "ours\ntogether\n"


def test_an_unclosed_block_is_plain_text():
    text = "<<<<<<< yours\nonly the start\n"
    assert conflicts.parse(text) == [conflicts.Part(text)]
    assert not conflicts.unresolved(text)


def test_markers_are_unresolved_unless_the_page_held_them_already():
    assert conflicts.unresolved(MERGED)
    assert not conflicts.unresolved(MERGED, stored=MERGED)
    assert not conflicts.unresolved("a git tutorial mentions <<<<<<< HEAD\n")
