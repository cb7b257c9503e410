from pathlib import Path

import pytest

from wiki import config


def test_defaults_live_under_home(tmp_path):
    settings = config.load(tmp_path, environ={})
    assert settings.repository == tmp_path / "content" / "wiki.git"
    assert settings.instance == tmp_path / "instance"
    assert settings.db_url == f"sqlite:///{tmp_path / 'instance' / 'wiki.db'}"
    assert settings.anonymous_read is False


def test_toml_then_environment(tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "wiki.toml").write_text(
        'site_name = "Intranet"\nanonymous_read = true\nmax_page_bytes = 1000\n')
    settings = config.load(tmp_path, environ={"WIKI_MAX_PAGE_BYTES": "2000",
                                              "WIKI_CONTENT_DIR": "/srv/content"})
    assert settings.site_name == "Intranet"
    assert settings.anonymous_read is True
    assert settings.max_page_bytes == 2000
    assert settings.repository == Path("/srv/content/wiki.git")


@pytest.mark.parametrize("toml, message", [
    ("nonsense = 1\n", "unknown setting"),
    ("max_page_bytes = 'lots'\n", "not a valid integer"),
    ("anonymous_read = 'perhaps'\n", "not a valid boolean"),
    ("site_name = \n", "wiki.toml"),
])
def test_bad_settings_are_named(tmp_path, toml, message):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "wiki.toml").write_text(toml)
    with pytest.raises(config.SettingsError, match=message):
        config.load(tmp_path, environ={})


def test_environment_variable_errors(tmp_path):
    with pytest.raises(config.SettingsError, match="WIKI|write_lock_timeout"):
        config.load(tmp_path, environ={"WIKI_WRITE_LOCK_TIMEOUT": "soon"})
