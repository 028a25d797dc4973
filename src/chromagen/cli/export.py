"""``chromagen export``: a trained generator as an ONNX graph for the torch-free runtime."""

from pathlib import Path
from typing import Annotated

import typer

from chromagen.cli.app import USAGE_ERROR, _fail, app, check_output, line
from chromagen.cli.extras import need_torch
from chromagen.defaults import DEFAULT_MODEL
from chromagen.errors import ChromagenError


@app.command()
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.onnx).")],
    model: Annotated[str, typer.Option(help="Bundled model name or path to a .safetensors/.ckpt file.")]
    = DEFAULT_MODEL,
    format: Annotated[str, typer.Option("--format", help="Export format (onnx).")] = "onnx",  # noqa: A002
    half: Annotated[bool, typer.Option(help="Store the weights as float16: half the file, float32 arithmetic "
                                            "(the bundled models ship this way).")] = False,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Export a model to ONNX (dynamic batch, height and width) for `colorize --backend onnx`."""
    need_torch("export")
    from chromagen.backends import TORCH_SUFFIXES, model_file
    from chromagen.export import export_weights

    try:
        if format != "onnx":
            raise ChromagenError(f"unknown format {format!r}; chromagen exports onnx")
        if output.suffix.lower() != ".onnx" or output.is_dir():
            raise ChromagenError(f"{output}: name the file to write, ending in .onnx (colorize picks the "
                                 "runtime by the extension)")
        check_output(output.parent)  # before the export's seconds, not after
        path = export_weights(model_file(model, TORCH_SUFFIXES), output, half=half)
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    line(f"exported {model} -> {path}")
