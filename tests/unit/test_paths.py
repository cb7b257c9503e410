import pytest

from wiki import paths
from wiki.errors import InvalidPath, InvalidRevision


@pytest.mark.parametrize("raw, expected", [
    ("Home", "Home"),
    ("/Team/Onboarding/", "Team/Onboarding"),
    ("Team/Onboarding.md", "Team/Onboarding"),
    ("  Über uns ", "Über uns"),
    ("Cafe\u0301", "Café"),  # NFD is stored as NFC
    ("Team/history", "Team/history"),
    ("edit", "edit"),
])
def test_good_names(raw, expected):
    assert paths.normalize(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "/", "..", "a/../b", "./a", ".git", "a/.git/b", ".hidden", "a/.b", "a//b",
    "a\\b", "a\x00b", "a\nb", "a\u202eb", "a\u200bb", "a:b", "a*b", "a<b", "x" * 253,
    "a/ b", "a /b", None, 5,
])
def test_bad_names(raw):
    with pytest.raises(InvalidPath):
        paths.normalize(raw)


def test_name_limit_counts_bytes_not_characters():
    assert paths.normalize("é" * 126)  # 252 bytes + .md = 255
    with pytest.raises(InvalidPath):
        paths.normalize("é" * 127)


def test_keys_ignore_case():
    assert paths.key("Team/ONBOARDING") == paths.key("team/onboarding")
    assert paths.key("STRASSE") == paths.key("straße")


def test_files_and_names():
    assert paths.to_file("Team/A") == "Team/A.md"
    assert paths.from_file("Team/A.md") == "Team/A"
    assert paths.from_file("Team/picture.png") is None
    assert paths.from_file("../evil.md") is None
    assert paths.namespace("Team/Sub/A") == "Team/Sub" and paths.leaf("Team/Sub/A") == "A"


@pytest.mark.parametrize("rev", ["HEAD", "abcd", "A" * 40, "0123456789abcdef" * 4])
def test_good_revisions(rev):
    assert paths.revision(rev) in ("HEAD", rev.lower())


@pytest.mark.parametrize("rev", ["--output=/tmp/x", "-n", "HEAD~1", "main", "abc", "g" * 40,
                                 "a" * 65, "HEAD^", "@{-1}", "", None])
def test_bad_revisions(rev):
    with pytest.raises(InvalidRevision):
        paths.revision(rev)


# --- rules for new names (issue 12, item 5) ----------------------------------------------------

@pytest.mark.parametrize(("name", "rule"), [
    ("ＨＲ/Evil", "NFKC"),  # full-width letters
    ("ﬁnance", "NFKC"),  # a ligature
    ("Notes²", "NFKC"),
    ("Team/COM¹", "NFKC"),  # Windows reads superscript digits as devices too
    ("HR./Evil", "cannot end with a dot"),
    ("Team/Notes.", "cannot end with a dot"),
    ("CON", "device name on Windows"),
    ("Team/nul", "device name on Windows"),
    ("Docs/con.txt", "device name on Windows"),
    ("lpt9.tar.gz", "device name on Windows"),
    ("Aux/Page", "device name on Windows"),
    ("COM1 .txt", "device name on Windows"),
])
def test_new_names_are_refused_with_the_rule_they_break(name, rule):
    with pytest.raises(InvalidPath) as refused:
        paths.check_new(name)
    assert rule in refused.value.message
    assert paths.normalize(name)  # an existing page of that name still works


def test_the_nfkc_refusal_says_how_to_write_it():
    with pytest.raises(InvalidPath, match="'HR/Evil'"):
        paths.check_new("ＨＲ/Evil")


@pytest.mark.parametrize("name", ["Console", "Team/Conference.notes", "COM10", "LPT0", "Auxiliary",
                                  "Café/Ünïcode", "日本語/ページ", "v1.2 notes"])
def test_ordinary_new_names_pass(name):
    assert paths.check_new(name) == name
