"""The command line: init, users, tokens, reindex and check, on a real SQLite file and repo."""

import os
import subprocess

import pytest
from click.testing import CliRunner

from wiki.cli import main


def run(home, *args, input=None):
    result = CliRunner().invoke(main, ["--home", str(home), *args], input=input,
                                catch_exceptions=False)
    return result


def test_init_is_safe_to_run_twice_and_prints_a_setup_link(tmp_path):
    first = run(tmp_path, "init")
    assert first.exit_code == 0
    assert "starter pages" in first.output
    assert "/setup/" in first.output
    second = run(tmp_path, "init")
    assert second.exit_code == 0
    log = subprocess.run(["git", "--git-dir", str(tmp_path / "content" / "wiki.git"), "log",
                          "--oneline"], capture_output=True, text=True, check=True).stdout
    assert len(log.splitlines()) == 1
    assert (tmp_path / "instance" / "wiki.db").exists()
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_init_with_admin_then_users_and_tokens(tmp_path):
    result = run(tmp_path, "init", "--admin", "root", "--password-stdin",
                 input="a-long-password\n")
    assert result.exit_code == 0 and "created the admin root" in result.output
    assert "/setup/" not in result.output  # an admin exists: no setup link
    added = run(tmp_path, "user", "add", "alice", "--role", "reader", "--password-stdin",
                input="another-password\n")
    assert added.exit_code == 0
    duplicate = run(tmp_path, "user", "add", "ALICE", "--password-stdin", input="xxxxxxxxxx\n")
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    short = run(tmp_path, "user", "passwd", "alice", "--password-stdin", input="short\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    token = run(tmp_path, "token", "create", "alice")
    assert token.exit_code == 0
    assert token.output.strip().splitlines()[-1].startswith("kennis_")
    missing = run(tmp_path, "token", "create", "nobody")
    assert missing.exit_code != 0


def test_check_and_reindex(tmp_path):
    run(tmp_path, "init")
    healthy = run(tmp_path, "check")
    assert healthy.exit_code == 0 and "All good" in healthy.output
    import sqlite3

    with sqlite3.connect(tmp_path / "instance" / "wiki.db") as db:
        db.execute("DELETE FROM derived_pages WHERE key = 'home'")
    broken = run(tmp_path, "check")
    assert broken.exit_code != 0 and "Home" in broken.output
    assert run(tmp_path, "reindex").exit_code == 0
    assert run(tmp_path, "check").exit_code == 0


def test_bad_settings_are_reported_not_crashed(tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "wiki.toml").write_text("oops = 1\n")
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "init"])
    assert result.exit_code != 0
    assert "unknown setting" in result.output


def test_workers_starting_together_share_one_whole_secret_key(tmp_path, monkeypatch):
    from wiki import config, home

    settings = config.load(tmp_path, environ={})
    real_link, keys = os.link, []

    def link(source, target):  # another worker makes the key between our write and link
        if not keys:
            monkeypatch.setattr(home.os, "link", real_link)
            keys.append(home.secret_key(settings))
        return real_link(source, target)

    monkeypatch.setattr(home.os, "link", link)
    mine = home.secret_key(settings)
    assert mine == keys[0] and len(mine) == 64
    assert sorted(p.name for p in (tmp_path / "instance").iterdir()) == ["secret_key"]


@pytest.mark.parametrize("command", [("acl", "list"), ("user", "add", "eva"), ("reindex",),
                                     ("check",), ("group", "list"), ("token", "create", "x")])
def test_commands_other_than_init_refuse_a_folder_without_a_wiki(tmp_path, command):
    result = run(tmp_path, *command, input="secret-password\nsecret-password\n")
    assert result.exit_code != 0
    assert f"no wiki here (WIKI_HOME={tmp_path.resolve()})" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_review_defaults_and_reminders(tmp_path):
    assert run(tmp_path, "init", "--admin", "eva", "--password-stdin",
               input="correct-horse-battery\n").exit_code == 0
    done = run(tmp_path, "review", "set", "Team", "--owner", "user:eva", "--every", "6 months")
    assert done.exit_code == 0 and "Team: owner=user:eva every=6 months" in done.output
    assert "Team: owner=user:eva" in run(tmp_path, "review", "list").output
    bad = run(tmp_path, "review", "set", "Team", "--owner", "user:nobody")
    assert bad.exit_code != 0 and "There is no user nobody" in bad.output
    assert run(tmp_path, "review", "remind").output.strip() == "Reminded 0 owner(s)."
    assert run(tmp_path, "review", "rm", "Team").exit_code == 0
    assert "No defaults" in run(tmp_path, "review", "list").output
