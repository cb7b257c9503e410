"""Every setting: its name, type, default and one sentence.

Settings are read from `instance/wiki.toml` (keys in lower case, e.g. `anonymous_read = true`)
and overridden by environment variables `WIKI_<NAME>` (e.g. `WIKI_ANONYMOUS_READ=1`). The
README's settings table is checked against this list by a test.
"""

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path


def _setting(default, doc: str):
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    home: Path = _setting(Path("."), "Folder that holds the content, index and instance folders.")
    content_dir: Path | None = _setting(None, "Folder of the bare git repository `wiki.git` (default: `HOME/content`).")
    index_dir: Path | None = _setting(None, "Folder of the search index (default: `HOME/search_index`).")
    instance_dir: Path | None = _setting(None, "Folder of the database, secret key and `wiki.toml` (default: `HOME/instance`).")
    cache_dir: Path | None = _setting(None, "Folder of derived caches such as rendered pages (default: `HOME/cache`).")
    database_url: str = _setting("", "SQLAlchemy URL of the database (default: SQLite file `INSTANCE/wiki.db`).")
    site_name: str = _setting("Kennis", "Name shown in the header and page titles.")
    base_url: str = _setting("", "Public URL of the wiki, used in feeds and setup links (default: from the request).")
    theme: str = _setting("default", "Theme folder under `themes/` whose files override the default theme.")
    themes_dir: Path | None = _setting(None, "Folder that holds theme folders (default: `themes/` beside the code).")
    anonymous_read: bool = _setting(False, "Let visitors who are not logged in read pages.")
    default_language: str = _setting("en", "Language of the interface and of pages without a `lang` (en or nl).")
    max_page_bytes: int = _setting(2 * 1024 * 1024, "Largest page, in bytes, that can be saved.")
    branch: str = _setting("main", "Branch of the repository that holds the wiki.")
    write_lock_timeout: float = _setting(30.0, "Seconds a save waits for the repository write lock.")
    session_cookie_secure: bool = _setting(False, "Send session cookies only over HTTPS (set behind an HTTPS proxy).")
    render_cache_size: int = _setting(2000, "Rendered pages kept in memory per worker process.")
    access_log: str = _setting("", "Where `wiki serve` writes its access log: a file, `-` for standard output, empty for none (it costs about a third of page-view throughput).")

    @property
    def content(self) -> Path:
        return Path(self.content_dir or self.home / "content")

    @property
    def repository(self) -> Path:
        return self.content / "wiki.git"

    @property
    def index(self) -> Path:
        return Path(self.index_dir or self.home / "search_index")

    @property
    def instance(self) -> Path:
        return Path(self.instance_dir or self.home / "instance")

    @property
    def cache(self) -> Path:
        return Path(self.cache_dir or self.home / "cache")

    @property
    def themes(self) -> Path:
        return Path(self.themes_dir or Path(__file__).resolve().parent.parent / "themes")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance / 'wiki.db'}"


def setting_fields():
    """(name, type name, default, sentence) for every setting, for docs and checks."""
    for f in fields(Settings):
        yield f.name, _type_name(f.type), f.default, f.metadata["doc"]


def _type_name(tp) -> str:
    if "Path" in str(tp):
        return "path"
    return {str: "text", bool: "boolean", int: "integer", float: "number"}[tp]


class SettingsError(ValueError):
    pass


def _convert(name: str, kind: str, value):
    if value is None:
        return None
    try:
        if kind == "path":
            return Path(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name}: {value!r} is not a valid {kind}") from exc


def load(home: str | os.PathLike | None = None, environ=None, **overrides) -> Settings:
    """Settings from defaults, then `instance/wiki.toml`, then `WIKI_*`, then `overrides`."""
    environ = os.environ if environ is None else environ
    home = Path(home or environ.get("WIKI_HOME") or ".").resolve()
    kinds = {name: kind for name, kind, _, _ in setting_fields()}
    values: dict = {"home": home}
    instance = Path(environ.get("WIKI_INSTANCE_DIR") or overrides.get("instance_dir")
                    or home / "instance")
    toml_file = instance / "wiki.toml"
    if toml_file.exists():
        try:
            data = tomllib.loads(toml_file.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_file}: {exc}") from exc
        for name, value in data.items():
            if name not in kinds or name == "home":
                raise SettingsError(f"{toml_file}: unknown setting {name!r}")
            values[name] = _convert(name, kinds[name], value)
    for name, kind in kinds.items():
        env_name = "WIKI_" + name.upper()
        if name != "home" and env_name in environ:
            values[name] = _convert(name, kind, environ[env_name])
    for name, value in overrides.items():
        if name not in kinds:
            raise SettingsError(f"unknown setting {name!r}")
        values[name] = _convert(name, kinds[name], value)
    if values.get("default_language", "en") not in {"en", "nl"}:
        raise SettingsError("setting default_language: must be en or nl")
    return Settings(**values)
