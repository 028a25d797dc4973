"""Commands that need the training stack say so in one line on the torch-free base install."""

from typing import Annotated, Optional

import typer

from chromagen.backends import require_torch
from chromagen.cli.app import USAGE_ERROR, _fail
from chromagen.errors import ChromagenError


def need_torch(command: str) -> None:
    """Exit with a usage error naming the extra to install when PyTorch is missing."""
    try:
        require_torch(f"chromagen {command}")
    except ChromagenError as exc:
        _fail(False, str(exc))
        raise typer.Exit(USAGE_ERROR) from None


BackendOption = Annotated[str, typer.Option(
    metavar="NAME", help="auto (ONNX Runtime on CPU, torch on CUDA), onnx or torch (needs the train extra).")]
ThreadsOption = Annotated[Optional[int], typer.Option(
    min=1, metavar="N", help="CPU threads (default: ONNX Runtime takes the available CPUs, at most 4; torch its own).")]
