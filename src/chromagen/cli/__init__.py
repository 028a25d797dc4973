"""The ``chromagen`` command line: one module per command, all registered on one typer app.

Import order is the order ``chromagen --help`` lists the commands in.
"""

from chromagen.cli import colorize, models, train, evaluate, export, serve, assets  # noqa: F401,I001  (registers the commands)
from chromagen.cli.app import app

__all__ = ["app"]
