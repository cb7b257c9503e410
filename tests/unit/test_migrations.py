"""Upgrading an existing wiki keeps its data (SQLite rebuilds tables in batch migrations)."""

import sqlite3

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from wiki.db import Base, Database


def _config(db: Database) -> Config:
    from pathlib import Path

    import wiki.db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(wiki.db.__file__).parent / "migrations"))
    return cfg


def insert(raw, table: str, values: dict) -> None:
    """Insert a row, filling NOT NULL columns without a default that `values` leaves out."""
    for column in raw.execute(f"PRAGMA table_info({table})"):
        name, notnull, default = column[1], column[3], column[4]
        if name not in values and notnull and default is None:
            values[name] = 0
    columns = ", ".join(values)  # the test's own constant names, never input
    marks = ", ".join("?" for _ in values)
    raw.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                list(values.values()))


def test_upgrading_keeps_threads_comments_and_notifications(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'wiki.db'}")
    cfg = _config(db)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")
    with sqlite3.connect(tmp_path / "wiki.db") as raw:
        insert(raw, "users", {"id": 1, "name": "ann", "name_key": "ann", "email": "",
                              "display_name": "", "password_hash": "", "role": "editor",
                              "language": "", "session_version": 1, "created": "2026-01-01"})
        insert(raw, "threads", {"id": 1, "page_key": "home", "page_name": "Home",
                                "title": "Hello", "author_id": 1, "author_name": "ann",
                                "status": "open", "locked": 0, "created": "2026-01-01",
                                "updated": "2026-01-01"})
        insert(raw, "comments", {"id": 1, "thread_id": 1, "author_id": 1, "author_name": "ann",
                                 "body": "first!", "created": "2026-01-01"})
    db.upgrade()
    with sqlite3.connect(tmp_path / "wiki.db") as raw:
        assert raw.execute("SELECT body FROM comments").fetchall() == [("first!",)]
        assert raw.execute("SELECT title FROM threads").fetchall() == [("Hello",)]
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    db.dispose()
