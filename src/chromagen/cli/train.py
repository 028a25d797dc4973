"""``chromagen train`` and ``chromagen prior``: recipes in, weights (or the ab prior) out."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from chromagen.cli.app import USAGE_ERROR, _fail, app, check_output, line, positive
from chromagen.cli.extras import need_torch
from chromagen.errors import ChromagenError, writing


@app.command()
def train(
    config: Annotated[str, typer.Option(help="Recipe: a shipped name (default, cnn... see `chromagen models`) or a "
                                             "YAML file.", metavar="NAME|FILE")],
    data: Annotated[Optional[list[Path]], typer.Option(help="Training tar shards or folders (repeatable).")] = None,
    val_data: Annotated[Optional[list[Path]], typer.Option(help="Validation folders (repeatable).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Override the recipe's step budget.")] = None,
    output: Annotated[Optional[Path], typer.Option(help="Run folder (default runs/<recipe name>).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run folder's last checkpoint (only if it was started "
                                              "with the same recipe, data and step budget).")] = True,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Train a model from a recipe; logs go to TensorBoard under the run folder."""
    need_torch("train")
    from chromagen.training.config import load_recipe
    from chromagen.training.fit import fit, with_overrides

    try:
        recipe = with_overrides(load_recipe(config), [str(p) for p in data] if data else None,
                                [str(p) for p in val_data] if val_data is not None else None,
                                positive("--max-steps", max_steps))
        run = output or Path("runs") / Path(config).stem
        check_output(run)
        exported = fit(recipe, run, resume=resume)
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    line(f"trained model: {exported}")


@app.command()
def prior(
    data: Annotated[list[Path], typer.Option(help="Training tar shards or folders (repeatable).")],
    output: Annotated[Path, typer.Option(help="Where to save the prior (.npy).")] = Path("prior.npy"),
    limit: Annotated[int, typer.Option(help="Photos to read (spread evenly over the data).")] = 2000,
    size: Annotated[int, typer.Option(help="Center-crop size the photos are read at.")] = 128,
) -> None:
    """Estimate the ab color prior for classification recipes (set `classification.prior` to the file)."""
    need_torch("prior")
    import numpy as np

    from chromagen.training.prior import estimate_prior

    try:
        check_output(output.parent)
        values = estimate_prior([str(p) for p in data], positive("--limit", limit), positive("--size", size))
        with writing(output):
            np.save(output, values.numpy())
    except ChromagenError as exc:
        _fail(False, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    used = int((values > 0).sum())
    line(f"prior over {len(values)} bins ({used} seen) -> {output}")
