"""``chromagen models``: the bundled weights (what ``--model`` takes) and the shipped training recipes.

Instant: it reads the weights catalogue and the recipe files; no network is built, torch is not imported.
"""

from chromagen.cli.app import app, line, out


@app.command()
def models() -> None:
    """List the bundled weights (for --model) and the training recipes with the architecture each trains."""
    from rich.table import Table

    from chromagen.catalog import bundled

    weights = Table(title="bundled weights (colorize/evaluate --model NAME)")
    for column in ("name", "architecture", "chroma", "val PSNR", "val LPIPS", "val FID", "val colorfulness",
                   "description"):
        weights.add_column(column)
    for entry in bundled():
        val = entry.val or {}
        colorful = _figure(val.get("colorfulness"))
        if val.get("colorfulness") is not None and val.get("colorfulness_gt"):
            colorful += f" ({val['colorfulness'] / val['colorfulness_gt']:.2f}x truth)"
        weights.add_row(entry.name, entry.architecture, _figure(entry.extra.get("chroma", 1.0)),
                        _figure(val.get("psnr"), " dB"), _figure(val.get("lpips")), _figure(val.get("fid")), colorful,
                        entry.description)
    out.print(weights)
    try:
        from chromagen.training.config import recipe_summaries
    except ImportError:  # PyYAML comes with the training extra
        line("training recipes: install chromagen[train] to list and use them")
        return
    recipes = Table(title="training recipes (train --config NAME; any weights file they export works with --model)")
    for column in ("recipe", "architecture", "loss", "description"):
        recipes.add_column(column)
    for summary in recipe_summaries():
        recipes.add_row(*summary)
    out.print(recipes)


def _figure(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"
