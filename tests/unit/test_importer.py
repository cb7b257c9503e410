"""`wiki import`: an existing Markdown repository with its history into an empty wiki."""

import os
import subprocess

import pytest

from wiki import importer
from wiki.errors import InvalidInput
from wiki.repo import Author, Write


def git(cwd, *args, env=None):
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Old Author", "GIT_AUTHOR_EMAIL": "old@example.org",
            "GIT_COMMITTER_NAME": "Old Author", "GIT_COMMITTER_EMAIL": "old@example.org",
            "GIT_AUTHOR_DATE": "2020-01-02T03:04:05Z", "GIT_COMMITTER_DATE": "2020-01-02T03:04:05Z"}
    return subprocess.run(["git", *args], cwd=cwd, env={**base, **(env or {})}, check=True,
                          capture_output=True)


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "source"
    src.mkdir()
    git(src, "init", "--quiet", "--initial-branch=trunk")
    (src / "Guide.md").write_text("# Guide\n\nSee [[Team/Rules]].\n")
    (src / "Team").mkdir()
    (src / "Team" / "Rules.md").write_text("# Rules\n")
    git(src, "add", "-A")
    git(src, "commit", "--quiet", "-m", "First pages")
    (src / "Team" / "Rules.md").write_text("# Rules\n\nBe kind.\n")
    (src / "Link.md").symlink_to("/etc/passwd")
    (src / ".gitattributes").write_text("* text\n")
    (src / "big.bin").write_bytes(b"x" * 5000)
    (src / "team").mkdir()
    (src / "team" / "Other.md").write_text("case twin folder\n")
    git(src, "add", "-A")
    git(src, "commit", "--quiet", "-m", "Second", env={"GIT_AUTHOR_NAME": "Bea"})
    return src


def test_import_keeps_history_and_leaves_out_what_the_wiki_cannot_take(services, source):
    import dataclasses

    services.settings = dataclasses.replace(services.settings, max_attachment_bytes=1000)
    report = importer.import_repository(services, str(source))
    assert report.commits == 2
    assert set(report.left_out) == {"Link.md", ".gitattributes", "big.bin", "team/Other.md"}
    assert "symbolic links" in report.left_out["Link.md"]
    assert "only in case" in report.left_out["team/Other.md"]
    files = services.repo.tree()
    assert "Guide.md" in files and "Team/Rules.md" in files and "Help/Git.md" in files
    assert "Link.md" not in files and "big.bin" not in files
    commits = services.repo.log(None)
    assert [c.message for c in commits] == [importer.STARTER_MESSAGE, "Second", "First pages"]
    assert commits[1].author.name == "Bea" and commits[2].author.name == "Old Author"
    assert commits[2].date.year == 2020
    history = services.catalog.history("Team/Rules")
    assert [r.message for r in history] == ["Second", "First pages"]
    assert services.catalog.page("Guide") is not None


def test_import_from_a_file_url(services, source):
    report = importer.import_repository(services, source.as_uri())
    assert report.commits == 2


def test_import_refuses_a_wiki_with_changes(services, source):
    account = Author("Someone", "s@example.org")
    services.repo.commit([Write("Mine.md", b"mine\n")], "mine", account,
                         parent=services.repo.head())
    with pytest.raises(importer.WikiNotEmpty):
        importer.import_repository(services, str(source))


@pytest.mark.parametrize("bad", ["ext::sh -c touch% /tmp/pwned", "ssh://host/repo.git",
                                 "git@host:repo.git", "--upload-pack=touch /tmp/x",
                                 "-oProxyCommand=x", "http:///no-host", "", "a\nb"])
def test_sources_that_could_run_commands_are_refused(bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput):
        importer.source_argument(bad)


def test_a_folder_becomes_an_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "-rf").mkdir()
    monkeypatch.chdir(tmp_path)
    assert importer.source_argument("-rf") == str(tmp_path / "-rf")
