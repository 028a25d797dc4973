"""``--hint`` / ``--hints`` for ``chromagen colorize``: user colors in, the hint list and model to use out."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chromagen.defaults import DEFAULT_MODEL, HINT_MODEL

if TYPE_CHECKING:
    from chromagen.hints import Hint

HintOption = Annotated[Optional[list[str]], typer.Option(
    "--hint", help="A user color X,Y,#RRGGBB in pixels or percent of the input (e.g. 40%,25%,#aa2211); "
                   "repeatable. Switches to the hint-aware model.", show_default=False)]
HintsFileOption = Annotated[Optional[Path], typer.Option(
    "--hints", help='JSON list of {"x", "y", "color"[, "patch"]} user colors (see docs/hints.md).',
    show_default=False)]


def resolve_hints(texts: list[str] | None, file: Path | None, model: str) -> tuple[list["Hint"], str]:
    """Parse the hints (a HintError on bad ones) and pick the model: hints switch the default to the
    bundled hint-aware model; an explicitly chosen model is kept (the Colorizer refuses a hint-free one)."""
    from chromagen.hints import load_hints, parse_hint

    hints = [parse_hint(t) for t in texts or []] + (load_hints(file) if file else [])
    return hints, HINT_MODEL if hints and model == DEFAULT_MODEL else model
