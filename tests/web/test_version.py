"""The version comes from one place (wiki.__version__): `wiki --version`, the admins' footer."""

from click.testing import CliRunner

from wiki import __version__
from wiki.cli import main


def test_wiki_version_prints_the_package_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"Kennis {__version__}"


def test_admins_see_the_version_in_the_footer_and_others_do_not(client, auth):
    auth.login("admin")
    assert f"Kennis {__version__}" in client.get("/wiki/Home").get_data(as_text=True)
    auth.logout()
    auth.login("editor")
    assert f"Kennis {__version__}" not in client.get("/wiki/Home").get_data(as_text=True)
