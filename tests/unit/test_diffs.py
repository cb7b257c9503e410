import difflib
import re
import shutil
import subprocess

import pytest

from wiki.diffs import MAX_WORD_COMPARISONS, MAX_WORD_TOKENS, compare


def numbered(count: int) -> list[str]:
    return [f"line {n}" for n in range(1, count + 1)]


def text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def kinds(diff) -> list[str]:
    return [row.kind for row in diff.rows]


def marked(html: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", html)


def test_changing_one_word_marks_just_that_word():
    diff = compare("the quick brown fox jumps\n", "the quick red fox jumps\n")

    (row,) = diff.rows
    assert row.kind == "change"
    assert row.old.html == "the quick <del>brown</del> fox jumps"
    assert row.new.html == "the quick <ins>red</ins> fox jumps"


def test_one_word_in_a_long_paragraph_is_the_only_highlight():
    words = [f"word{n}" for n in range(400)] + ["the", "a", "of"] * 100
    old = " ".join(words)
    words[250] = "CHANGED"
    diff = compare(old, " ".join(words))

    (row,) = diff.rows
    assert marked(row.old.html, "del") == ["word250"]
    assert marked(row.new.html, "ins") == ["CHANGED"]


def test_adjacent_changed_words_form_one_highlight():
    diff = compare(
        "the tale of a quick brown fox and a lazy dog\n",
        "the tale of a slow red fox and a lazy dog\n",
    )

    assert marked(diff.rows[0].old.html, "del") == ["quick brown"]
    assert marked(diff.rows[0].new.html, "ins") == ["slow red"]


def test_counts_added_and_removed_lines():
    old = text(["keep", "edit me", "drop", "keep too"])
    new = text(["keep", "edit me now", "keep too", "new one", "new two"])

    diff = compare(old, new)

    assert (diff.added, diff.removed) == (3, 2)
    assert kinds(diff).count("change") == 1


def test_unified_text_matches_difflib_format():
    old = text(numbered(12))
    new = text(numbered(5) + ["inserted"] + numbered(12)[6:])

    diff = compare(old, new, "a/Page.md", "b/Page.md")

    expected = difflib.unified_diff(
        old.splitlines(True), new.splitlines(True), "a/Page.md", "b/Page.md"
    )
    assert diff.unified == "".join(expected)
    assert diff.unified.splitlines()[:3] == ["--- a/Page.md", "+++ b/Page.md", "@@ -3,7 +3,7 @@"]
    assert "-line 6\n+inserted\n" in diff.unified


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize(
    ("old", "new"),
    [
        (text(numbered(40)), text(numbered(3) + ["x"] + numbered(40)[5:30] + ["y", "z"])),
        ("one\ntwo", "one\ntwo\nthree\n"),
        ("one\ntwo\n", "one\n2"),
        ("", "created\n"),
        ("gone\n", ""),
    ],
)
def test_unified_text_applies_with_git(tmp_path, old, new):
    (tmp_path / "Page.md").write_text(old, newline="")
    (tmp_path / "change.patch").write_text(
        compare(old, new, "a/Page.md", "b/Page.md").unified, newline=""
    )

    subprocess.run(["git", "apply", "change.patch"], cwd=tmp_path, check=True)

    assert (tmp_path / "Page.md").read_bytes() == new.encode()


def test_only_context_lines_around_a_change_are_shown():
    lines = numbered(20)
    new = list(lines)
    new[9] = "line ten"

    diff = compare(text(lines), text(new), context=2)

    assert kinds(diff) == ["skip", "context", "context", "change", "context", "context", "skip"]
    assert [diff.rows[0].hidden, diff.rows[-1].hidden] == [7, 8]
    assert [row.old.number for row in diff.rows[1:-1]] == [8, 9, 10, 11, 12]
    assert [row.new.number for row in diff.rows[1:-1]] == [8, 9, 10, 11, 12]


def test_distant_changes_are_separate_hunks_with_a_gap():
    lines = numbered(30)
    new = list(lines)
    new[1] = "second"
    new[27] = "second to last"

    diff = compare(text(lines), text(new), context=3)

    skips = [row for row in diff.rows if row.kind == "skip"]
    assert [row.hidden for row in skips] == [19]  # lines 6 to 24
    assert diff.unified.count("\n@@ ") == 2
    assert "⋯" in diff.inline_html() and "⋯" in diff.side_by_side_html()


def test_line_numbers_follow_insertions():
    diff = compare(text(["a", "b", "c"]), text(["a", "new", "b", "c"]))

    added = [row for row in diff.rows if row.kind == "add"]
    assert [(row.old, row.new.number) for row in added] == [(None, 2)]
    assert diff.rows[-1].old.number == 3 and diff.rows[-1].new.number == 4


def test_similar_lines_are_paired_around_an_inserted_line():
    old = text(["first paragraph about cats", "second paragraph about dogs"])
    new = text(["first paragraph about lions", "a new line", "second paragraph about wolves"])

    assert kinds(compare(old, new)) == ["change", "add", "change"]


def test_unrelated_lines_are_a_removal_and_an_addition():
    diff = compare("completely different\n", "nothing alike here 42\n")

    assert kinds(diff) == ["del", "add"]
    assert "<del>" not in diff.rows[0].old.html


def test_inline_view_lists_removed_lines_before_added_ones():
    diff = compare(text(["alpha one", "beta two"]), text(["alpha uno", "beta dos"]))

    html = diff.inline_html()
    assert html.startswith('<table class="diff diff-inline">')
    order = re.findall(r'<tr class="(\w+)">', html)
    assert order == ["del", "del", "add", "add"]
    assert '<td class="num">2</td>' in html


def test_side_by_side_view_puts_a_change_on_one_row():
    diff = compare("keep\nold words here\n", "keep\nnew words here\n")

    html = diff.side_by_side_html()
    assert html.startswith('<table class="diff diff-side">')
    change = next(line for line in html.splitlines() if 'class="change"' in line)
    assert "<del>old</del>" in change and "<ins>new</ins>" in change


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("safe\n", "<script>alert('x')</script> \"q\"\n"),
        ("<script>alert('x')</script> \"q\"\n", "safe\n"),
        ("<script>alert(1)</script> same\n", "<script>alert(2)</script> same\n"),
        ("<script>ctx</script>\nold\n", "<script>ctx</script>\nnew\n"),
    ],
)
def test_page_text_is_escaped_everywhere(old, new):
    diff = compare(old, new)

    cells = [cell.html for row in diff.rows for cell in (row.old, row.new) if cell]
    for html in [*cells, diff.inline_html(), diff.side_by_side_html()]:
        assert "<script" not in html
        assert "'" not in html and '"q"' not in html
    everything = diff.inline_html() + diff.side_by_side_html() + "".join(cells)
    assert "&lt;script&gt;" in everything or "&lt;/script&gt;" in everything
    assert "<script>" in diff.unified  # the patch is plain text, not HTML


def test_identical_texts_have_no_rows():
    diff = compare("same\ntext\n", "same\ntext\n")

    assert diff.identical
    assert diff.rows == ()
    assert (diff.added, diff.removed, diff.unified) == (0, 0, "")
    assert "<tr" not in diff.inline_html()


def test_created_page_is_all_additions():
    diff = compare("", "# Title\n\nBody\n")

    assert kinds(diff) == ["add", "add", "add"]
    assert (diff.added, diff.removed) == (3, 0)
    assert "@@ -0,0 +1,3 @@" in diff.unified
    assert not diff.identical


def test_emptied_page_is_all_removals():
    diff = compare("# Title\nBody\n", "")

    assert kinds(diff) == ["del", "del"]
    assert (diff.added, diff.removed) == (0, 2)
    assert "@@ -1,2 +0,0 @@" in diff.unified


def test_crlf_and_lf_are_the_same_line_break():
    assert compare("one\r\ntwo\r\n", "one\ntwo\n").identical

    diff = compare("one\r\ntwo\r\nthe third line\r\n", "one\ntwo\nthe 3rd line\n")
    assert kinds(diff) == ["context", "context", "change"]
    assert "\r" not in diff.unified


def test_missing_final_newline_is_a_visible_change():
    diff = compare("one\ntwo", "one\ntwo\n")

    assert not diff.identical
    assert kinds(diff) == ["context", "change"]
    assert diff.rows[1].old.html == "two"
    assert diff.rows[1].new.html == "two<ins>↵</ins>"
    assert "-two\n\\ No newline at end of file\n+two\n" in diff.unified


def test_zero_context_shows_only_changes():
    diff = compare(text(["a", "b b b", "c"]), text(["a", "b B b", "c"]), context=0)

    assert kinds(diff) == ["skip", "change", "skip"]
    assert "@@ -2 +2 @@" in diff.unified


def test_negative_context_is_refused():
    with pytest.raises(ValueError):
        compare("a", "b", context=-1)


def test_huge_line_changed_throughout_falls_back_to_whole_line():
    words = [f"w{n}" for n in range(MAX_WORD_TOKENS * 2)]
    changed = list(words)
    changed[0], changed[-1] = "start", "end"

    diff = compare(" ".join(words), " ".join(changed))

    assert kinds(diff) == ["del", "add"]
    assert (diff.added, diff.removed) == (1, 1)


def test_huge_line_with_one_changed_word_still_marks_the_word():
    words = [f"w{n}" for n in range(MAX_WORD_TOKENS * 4)]
    changed = list(words)
    changed[MAX_WORD_TOKENS] = "CHANGED"

    (row,) = compare(" ".join(words), " ".join(changed)).rows

    assert marked(row.old.html, "del") == [f"w{MAX_WORD_TOKENS}"]
    assert marked(row.new.html, "ins") == ["CHANGED"]


def test_past_the_word_comparison_budget_changed_lines_are_shown_whole():
    """The budget bounds a diff's work (bench/diff_budget.py times it): blocks of similar
    changed lines get word marks until it runs out, later blocks show whole lines."""
    size = 10
    blocks = MAX_WORD_COMPARISONS // (size * size) + size

    def page(word):
        return text([line for k in range(blocks) for line in
                     [f"anchor {k}", *(f"item {k} {j} of the {word} list" for j in range(size))]])

    diff = compare(page("old"), page("new"), context=0)

    rows = [row for row in diff.rows if row.kind != "skip"]
    assert (diff.added, diff.removed) == (blocks * size, blocks * size)
    assert [row.kind for row in rows[:size]] == ["change"] * size
    assert marked(rows[0].new.html, "ins") == ["new"]
    assert {row.kind for row in rows[-2 * size:]} == {"del", "add"}
