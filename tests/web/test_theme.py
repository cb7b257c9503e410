"""A theme overrides single files and can extend the default ones."""

from wiki import config
from wiki.app import create_app


def test_theme_overrides_one_template_and_one_static_file(tmp_path, services, settings):
    theme = tmp_path / "themes" / "intranet"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir()
    (theme / "templates" / "base.html").write_text(
        '{% extends "default:base.html" %}'
        '{% block head %}<meta name="theme" content="intranet">{% endblock %}')
    (theme / "static" / "style.css").write_text("body { color: purple }")
    themed = config.load(tmp_path, environ={"WIKI_THEME": "intranet",
                                            "WIKI_THEMES_DIR": str(tmp_path / "themes")})
    services.users.create("ann", "a-long-password", role="editor")
    client = create_app(themed).test_client()
    page = client.get("/login").get_data(as_text=True)
    assert '<meta name="theme" content="intranet">' in page
    assert 'name="password"' in page  # the rest still comes from the default theme
    with client.get("/static/style.css") as css:
        assert css.get_data(as_text=True) == "body { color: purple }"
    with client.get("/static/editor.js") as js:
        assert js.status_code == 200  # not overridden: the default theme's file
    assert client.get("/static/../wiki.toml").status_code == 404
