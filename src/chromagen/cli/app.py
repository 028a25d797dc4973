"""The typer app every command registers on, the consoles, and how errors reach the user.

Heavy modules (torch, Lightning) are imported inside the commands, so ``--help`` and ``--version`` are instant.
Everything a user typed (paths above all) is printed literally: never through rich markup, one line each.
"""

import signal
import threading
import traceback
from typing import Annotated, Any, Optional

import typer
import typer.core
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

import chromagen
from chromagen.errors import ChromagenError, UsageError

app = typer.Typer(
    help="Bring color back to black-and-white photographs, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
if not out.is_terminal:  # piped or logged: do not squeeze result tables into 80 columns
    out.width = 160
err = Console(stderr=True, soft_wrap=True, highlight=False)  # one line per failure, never wrapped

BAD_FILE = 1
USAGE_ERROR = 2

_WORDS = {"integer": "N", "integer range": "N", "float": "X", "float range": "X", "text": "TEXT", "path": "PATH"}


def _placeholder(option: Any, ctx: Any) -> str:
    """Help shows a word (PATH, N, X, TEXT) or the metavar after an option, never a Python type; flags none."""
    if option.is_flag:
        return ""
    return option.metavar or _WORDS.get(option.type.name, "VALUE")


def _no_argument_type(param_type: Any, param: Any, ctx: Any) -> str | None:
    """An argument's name column already shows its metavar: no ``<path>`` type beside it."""
    return "" if isinstance(param, typer.core.TyperArgument) else None


# typer (pinned below 0.29, which imports pydantic on every run) shows Python type names in help otherwise.
typer.core.TyperOption.make_metavar = _placeholder  # type: ignore[method-assign]
typer._click.types.ParamType.get_metavar = _no_argument_type  # type: ignore[method-assign]


def _version(value: bool) -> None:
    if value:
        out.print(f"chromagen {chromagen.__version__}", markup=False)  # looked up only here: ~0.03 s
        raise typer.Exit()


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` runs and no ``.part`` file is left behind."""
    raise SystemExit(128 + signum)


@app.callback()
def main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Show the version and exit.")] = None,
) -> None:
    """chromagen: colorize black-and-white photos with deep learning."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    _quiet_libraries()


def _quiet_libraries() -> None:
    """Lightning's tips and deprecation chatter, and decoder logs, are not ours to show on every run."""
    import logging
    import warnings

    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for name in ("PIL", "tifffile"):  # decoders log what the file's one error line already says
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"lightning(\..*)?")
    warnings.filterwarnings("ignore", message=r".*pytree.*")


def one_line(text: str) -> str:
    """A message as exactly one line: control characters in file names are shown escaped (``\\n``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _progress(disable: bool = False) -> Progress:
    """The progress bar every long command shows (on stderr, gone when done; none in logs, where it would
    leave a blank line)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, disable=disable or not err.is_terminal, transient=True)


def say(label: str, style: str, message: str) -> None:
    """``label: message`` on stderr, the label colored, the message printed exactly as given."""
    err.print(Text.assemble((label, style), " ", one_line(message)))


def _fail(debug: bool, message: str) -> None:
    say("error:", "red", message)
    if debug:
        err.print(traceback.format_exc(), markup=False)


def exit_for(exc: ChromagenError, debug: bool) -> typer.Exit:
    """Print a failure once and pick its exit code: 2 for usage errors, 1 for the rest."""
    _fail(debug, str(exc))
    return typer.Exit(USAGE_ERROR if isinstance(exc, UsageError) else BAD_FILE)


def positive(name: str, value: int | None) -> int | None:
    """Counts (--limit, --steps...) must be at least 1; None means no limit."""
    if value is not None and value < 1:
        raise UsageError(f"{name} must be at least 1 (got {value})")
    return value


# Shared by colorize and evaluate: None keeps the gain calibrated into the weights file.
ChromaOption = Annotated[Optional[float], typer.Option(
    help="Saturation gain on the predicted colors (1 = as predicted; default: the model's calibrated gain).",
    metavar="GAIN")]
