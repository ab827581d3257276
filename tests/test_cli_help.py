"""Help reads whole at 80 columns: no option name is cut.

Checked for `galen serve` (and any command under a name in CHECKED); `eval healthbench` and
`eval pairwise` still cut `--grader-max-tokens` / `--judge-max-tokens` and belong to another
change. Add a command's first word to CHECKED once its help fits.
"""

from __future__ import annotations

import click
import pytest
import typer
from typer.testing import CliRunner

from galen.cli.main import app

ROOT = typer.main.get_command(app)
CHECKED = ("serve", "chat", "data", "train")


def _commands(group: click.Command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    commands = getattr(group, "commands", None)  # typer's groups are not click.Group subclasses
    if not commands:
        return [prefix]
    return [path for name, sub in commands.items() for path in _commands(sub, (*prefix, name))]


def _command(path: tuple[str, ...]) -> click.Command:
    command = ROOT
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("path", [p for p in _commands(ROOT) if p[0] in CHECKED], ids=" ".join)
def test_option_names_are_whole_at_80_columns(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    params = _command(path).params
    names = [name for p in params for name in p.opts + p.secondary_opts if name.startswith("--")]
    cut = [name for name in names if name not in result.output]
    assert not cut, f"cut at 80 columns: {cut}"
