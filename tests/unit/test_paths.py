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
