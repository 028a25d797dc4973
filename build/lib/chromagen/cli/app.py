"""The typer app every command registers on, the consoles, and how errors reach the user.

Heavy modules (torch, Lightning) are imported inside the commands, so ``--help`` and ``--version`` are instant.
"""

import traceback
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

app = typer.Typer(
    help="Bring color back to black-and-white photographs, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
if not out.is_terminal:  # piped or logged: do not squeeze result tables into 80 columns
    out.width = 160
err = Console(stderr=True, soft_wrap=True)  # one line per failure, never wrapped

USAGE_ERROR = 2


def _version(value: bool) -> None:
    if value:
        from chromagen import __version__

        out.print(f"chromagen {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Show the version and exit.")] = None,
) -> None:
    """chromagen: colorize black-and-white photos with deep learning."""


def _progress(disable: bool = False) -> Progress:
    """The progress bar every long command shows (on stderr, gone when done)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, disable=disable, transient=True)


def _fail(debug: bool, message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    if debug:
        err.print(traceback.format_exc(), highlight=False)


# Shared by colorize and evaluate: None keeps the gain calibrated into the weights file.
ChromaOption = Annotated[Optional[float], typer.Option(
    help="Saturation gain on the predicted colors (1 = as predicted; default: the model's calibrated gain).")]
