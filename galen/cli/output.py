"""What every command prints with: the console, a one-line error, a progress bar."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

# Piped output (CI logs, tests) gets a wide console so a results table is never cut.
console = Console() if Console().is_terminal else Console(width=200)


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr (unwrapped, so a path stays whole) and exit with code 2."""
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(2)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
