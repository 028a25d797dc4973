"""``chromagen models``: the bundled weights (what ``--model`` takes) and the shipped training recipes.

Instant: it reads the weights catalogue and the recipe files; no network is built, torch is not imported.
"""

from rich.table import Table

from chromagen.cli.app import app, out


@app.command()
def models() -> None:
    """List the bundled weights (for --model) and the training recipes with the architecture each trains."""
    from chromagen.catalog import bundled

    weights = Table(title="bundled weights (colorize/evaluate --model NAME)")
    for column in ("name", "architecture", "val PSNR", "val LPIPS", "description"):
        weights.add_column(column)
    for entry in bundled():
        val = entry.val or {}
        weights.add_row(entry.name, entry.architecture, _figure(val.get("psnr"), " dB"), _figure(val.get("lpips")),
                        entry.description)
    out.print(weights)
    try:
        from chromagen.training.config import recipe_summaries
    except ImportError:  # PyYAML comes with the training extra
        out.print("training recipes: install chromagen[train] to list and use them", markup=False)
        return
    recipes = Table(title="training recipes (train --config NAME; any weights file they export works with --model)")
    for column in ("recipe", "architecture", "loss", "description"):
        recipes.add_column(column)
    for summary in recipe_summaries():
        recipes.add_row(*summary)
    out.print(recipes)


def _figure(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"
