"""The README keeps up with the code: every setting, command and module is documented."""

import re
from pathlib import Path

import click

from wiki import config
from wiki.cli import main

README = (Path(__file__).parents[2] / "README.md").read_text("utf-8")


def test_every_setting_is_in_the_readme_table_with_its_default():
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \| `WIKI_\w+` .*$",
                                                         README, re.M)}
    names = [name for name, *_ in config.setting_fields()]
    assert sorted(rows) == sorted(names)
    for name, kind, default, doc in config.setting_fields():
        assert f"`WIKI_{name.upper()}`" in rows[name]
        assert f"| {kind} |" in rows[name]
        assert doc in rows[name]
        if default not in (None, "") and name != "home":
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            assert f"| {shown} |" in rows[name], name


def _commands(group: click.Group, prefix: str = "wiki"):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}"


def test_every_command_is_in_the_readme():
    for command in _commands(main):
        assert f"`{command}" in README, command


def test_readme_test_command_is_what_ci_runs():
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text()
    assert "bash scripts/test" in ci
    assert "bash scripts/test\n```" in README


def test_every_module_is_in_the_readme_table_and_every_row_exists():
    package = Path(__file__).parents[2] / "wiki"
    rows = re.findall(r"^\| (`wiki/.*?) \|", README, re.M)
    named = {name for row in rows for name in re.findall(r"`(wiki/[^`]+)`", row)}
    modules = {f"wiki/{p.name}" for p in package.glob("*.py")
               if p.name not in ("__init__.py", "__main__.py")}
    modules |= {f"wiki/{p.name}/" for p in package.iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    named_modules = {n for n in named if n.count("/") == 1 or n.endswith("/")}
    assert sorted(modules - named_modules) == []
    assert sorted(n for n in named if not (package.parent / n).exists()) == []
