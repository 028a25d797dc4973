"""The typer app every command registers on, the consoles, and how errors reach the user.

Heavy modules (torch, Lightning, even rich) are imported when first used, so ``--help`` and ``--version`` are
instant and colorizing one photo, which prints one plain line, never loads rich.
Everything a user typed (paths above all) is printed literally: never through rich markup, one line each.
"""

import functools
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
import typer.core

import chromagen
from chromagen.errors import ChromagenError, UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

app = typer.Typer(
    help="Bring color back to black-and-white photographs, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _LazyConsole:
    """A rich Console made on first use: colorizing one photo prints only plain lines (``line``), and not
    importing rich made that command 0.06-0.11 s faster here (docs/runtime.md, Session 9)."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr

    @functools.cached_property
    def _console(self) -> "Console":
        from rich.console import Console

        if self._stderr:
            return Console(stderr=True, soft_wrap=True, highlight=False)  # one line per failure, never wrapped
        console = Console(highlight=False)
        if not console.is_terminal:  # piped or logged: do not squeeze result tables into 80 columns
            console.width = 160
        return console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._console, name)


out = _LazyConsole(stderr=False)
err = _LazyConsole(stderr=True)

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
        line(f"chromagen {chromagen.__version__}")  # looked up only here: ~0.03 s
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

    from chromagen.media import quiet_decoders

    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    quiet_decoders()
    warnings.filterwarnings("ignore", module=r"lightning(\..*)?")
    warnings.filterwarnings("ignore", message=r".*pytree.*")


def one_line(text: str) -> str:
    """A message as exactly one line: control characters in file names are shown escaped (``\\n``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def line(text: str, stderr: bool = False) -> None:
    """One plain line (a result, a path) printed exactly as given: no markup, never wrapped."""
    print(one_line(text), file=sys.stderr if stderr else sys.stdout)


class _NoProgress:
    """The part of rich's Progress a command uses, showing nothing, for runs too short for a bar."""

    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def advance(self, task: int, advance: float = 1) -> None:
        return None


def _progress(disable: bool = False) -> "Progress":
    """The progress bar every long command shows (on stderr, gone when done; none in logs, where it would
    leave a blank line). ``disable``: none at all, and rich is not even imported."""
    if disable:
        return _NoProgress()  # type: ignore[return-value]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err._console, disable=not err.is_terminal, transient=True)


def say(label: str, style: str, message: str) -> None:
    """``label: message`` on stderr, the label colored, the message printed exactly as given."""
    from rich.text import Text

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


def check_output(output: Path) -> None:
    """The output folder must be a folder we can create and write in: said once, before any work."""
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: the output location is a file, not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output, prefix=".chromagen-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{output}: cannot write to the output folder ({exc.strerror or exc})") from None
