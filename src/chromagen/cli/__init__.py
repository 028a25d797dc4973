"""The ``chromagen`` command line: one module per command, all registered on one typer app.

Import order is the order ``chromagen --help`` lists the commands in.
"""

import atexit
import os
import sys

from chromagen.cli import colorize, models, train, evaluate, export, serve, assets  # noqa: F401,I001  (registers the commands)
from chromagen.cli.app import app

__all__ = ["app", "main"]


def _run() -> int:
    """``app`` with its usage errors (bad option values, unknown options, missing arguments) as one
    ``error:`` line like every other error of ours, instead of typer's boxed usage panel; exit status 2."""
    import typer
    from typer._click.exceptions import ClickException  # typer < 0.29 vendors click (see app.py)

    from chromagen.cli.app import line

    try:
        code = app(standalone_mode=False)
    except ClickException as exc:
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        if exc.format_message():  # empty for ``chromagen`` alone, whose help typer has just shown
            line(f"error: {exc.format_message()}{hint}", stderr=True)
        return exc.exit_code
    except typer.Abort:
        line("error: aborted", stderr=True)
        return 1
    return code if isinstance(code, int) else 0


def main() -> None:
    """The ``chromagen`` command: run ``app``, then end the process without tearing the interpreter down.

    When a command returns, its outputs are closed and renamed into place; what is left is Python freeing
    numpy, ONNX Runtime, typer and rich module by module: ~0.1 s, a fifth of colorizing one photo
    (docs/runtime.md). Exit handlers still run and the streams are flushed first, so nothing is lost.
    """
    try:
        code: object = _run()
    except SystemExit as done:
        code = done.code
    if not isinstance(code, int):  # sys.exit's rules: None is success, anything else is printed, status 1
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (``| head``) or a closed stream: nothing to save
            pass
    os._exit(code)
