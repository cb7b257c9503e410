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


def test_upgrading_keeps_threads_comments_and_notifications(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'wiki.db'}")
    cfg = _config(db)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")
    with sqlite3.connect(tmp_path / "wiki.db") as raw:
        raw.execute("INSERT INTO users (id, name, name_key, email, display_name, password_hash,"
                    " role, language, session_version, created) VALUES (1, 'ann', 'ann', '',"
                    " '', '', 'editor', '', 1, '2026-01-01')")
        columns = [row[1] for row in raw.execute("PRAGMA table_info(threads)")]
        values = {"id": 1, "page_key": "home", "page_name": "Home", "title": "Hello",
                  "author_id": 1, "author_name": "ann", "status": "open", "locked": 0,
                  "created": "2026-01-01", "updated": "2026-01-01"}
        raw.execute(f"INSERT INTO threads ({', '.join(values)}) VALUES "
                    f"({', '.join('?' for _ in values)})", list(values.values()))
        comment_columns = {row[1]: row for row in raw.execute("PRAGMA table_info(comments)")}
        comment = {"id": 1, "thread_id": 1, "author_id": 1, "author_name": "ann",
                   "body": "first!", "created": "2026-01-01"}
        for name, row in comment_columns.items():  # fill the other NOT NULL columns
            if name not in comment and row[3] and row[4] is None:
                comment[name] = 0
        raw.execute(f"INSERT INTO comments ({', '.join(comment)}) VALUES "
                    f"({', '.join('?' for _ in comment)})", list(comment.values()))
        assert columns
    db.upgrade()
    with sqlite3.connect(tmp_path / "wiki.db") as raw:
        assert raw.execute("SELECT body FROM comments").fetchall() == [("first!",)]
        assert raw.execute("SELECT title FROM threads").fetchall() == [("Hello",)]
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    db.dispose()
