"""The `galen` command: one sub-command group per stage."""

from __future__ import annotations

import typer

from galen import RESEARCH_NOTICE
from galen.cli import chat, serve
from galen.cli import data as data_cli
from galen.cli import eval as eval_cli
from galen.cli import lineage as lineage_cli
from galen.cli import mcp as mcp_cli
from galen.cli import train as train_cli

app = typer.Typer(
    name="galen",
    help=f"Build, evaluate and serve medical reasoning LLMs. {RESEARCH_NOTICE}",
    no_args_is_help=True,
    add_completion=False,
    # Plain help: rich's option table cuts long option names at 80 columns; click's wraps the help.
    rich_markup_mode=None,
)
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.add_typer(eval_cli.app, name="eval")
app.add_typer(data_cli.app, name="data")
app.add_typer(train_cli.app, name="train")
app.command("lineage")(lineage_cli.lineage)
app.command("mcp")(mcp_cli.mcp)


if __name__ == "__main__":
    app()
