"""`wiki backup` while the wiki writes, `wiki restore` into an empty home, and bad archives."""

import json
import tarfile
import threading

import pytest
from click.testing import CliRunner

from tests.conftest import APP_USERS
from wiki import config
from wiki.cli import main
from wiki.services import build_services


@pytest.fixture
def wiki_users():
    return APP_USERS


def run(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def test_a_backup_taken_during_saves_restores_everything_written_before_it(
        services, settings, tmp_path_factory):
    editor = services.users.by_name("editor")
    for i in range(5):
        services.pages.save(editor, f"Notes/Page {i}", f"First text {i}.\n", "")
        services.pages.save(editor, f"Notes/Page {i}", f"Second text {i}.\n", "")
    token = services.users.create_token("editor", "portal")
    thread = services.discussions.start(editor, "Notes/Page 1", "A question", "Why?")
    before = services.repo.head()

    stop = threading.Event()
    saved = []

    def keep_saving():  # a burst of saves while the backup runs
        n = 0
        while not stop.is_set() and n < 200:
            services.pages.save(editor, "Busy", f"Save {n}.\n", "")
            saved.append(n)
            n += 1

    writer = threading.Thread(target=keep_saving)
    writer.start()
    archive = tmp_path_factory.mktemp("backups") / "wiki.tar"
    try:
        result = run(settings.home, "backup", str(archive))
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output

    target = tmp_path_factory.mktemp("restored")
    restored = run(target, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert run(target, "check").exit_code == 0

    again = build_services(config.load(target, environ={}))
    try:
        assert again.repo.is_ancestor(before, again.repo.head())
        for i in range(5):
            assert again.pages.source(editor, f"Notes/Page {i}").markdown == f"Second text {i}.\n"
            assert len(again.pages.history(editor, f"Notes/Page {i}")) == 2
        assert {u for u, _, _ in APP_USERS} <= {a.name for a in again.users.all()}
        assert again.users.by_token(token).name == "editor"
        assert again.discussions.thread(editor, thread.thread.id).title == "A question"
        assert (target / "instance" / "secret_key").read_text() == \
            (settings.instance / "secret_key").read_text()
        assert again.search.search(editor, "Second").total >= 5
    finally:
        again.db.dispose()


def test_backup_refuses_an_existing_target_unless_forced(services, settings, tmp_path):
    archive = tmp_path / "exists.tar"
    archive.write_text("keep me")
    refused = run(settings.home, "backup", str(archive))
    assert refused.exit_code != 0 and "--force" in refused.output
    assert archive.read_text() == "keep me"
    assert run(settings.home, "backup", "--force", str(archive)).exit_code == 0
    assert tarfile.is_tarfile(archive)


def _archive(services, settings, tmp_path):
    archive = tmp_path / "wiki.tar"
    assert run(settings.home, "backup", str(archive)).exit_code == 0
    return archive


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_damaged_archive_is_refused_and_the_target_stays_empty(
        services, settings, tmp_path, tmp_path_factory, damage):
    archive = _archive(services, settings, tmp_path)
    data = bytearray(archive.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # a byte in the middle: inside the bundle or the database
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray(b"not a backup at all" * 100)
    archive.write_bytes(bytes(data))
    target = tmp_path_factory.mktemp("target")
    result = run(target, "restore", str(archive))
    assert result.exit_code != 0
    assert "damaged" in result.output or "not a Kennis backup" in result.output
    assert "Traceback" not in result.output
    assert list(target.iterdir()) == []


def test_restore_refuses_a_home_that_holds_a_wiki(services, settings, tmp_path):
    archive = _archive(services, settings, tmp_path)
    result = run(settings.home, "restore", str(archive))
    assert result.exit_code != 0 and "not empty" in result.output


def test_an_archive_from_a_newer_format_is_refused(services, settings, tmp_path,
                                                    tmp_path_factory):
    archive = _archive(services, settings, tmp_path)
    work = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    manifest = json.loads((work / "manifest.json").read_text())
    manifest["format"] = 99
    manifest["version"] = "99.0"
    (work / "manifest.json").write_text(json.dumps(manifest))
    newer = tmp_path / "newer.tar"
    with tarfile.open(newer, "w") as tar:
        for name in manifest["files"] | {"manifest.json": None}:
            tar.add(work / name, arcname=name)
    target = tmp_path_factory.mktemp("target")
    result = run(target, "restore", str(newer))
    assert result.exit_code != 0 and "newer" in result.output
    assert list(target.iterdir()) == []
