"""``compare``: train several recipes on the same data and step budget, then score them side by side."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from chromagen.training.config import load_recipe, resolve_recipe
from chromagen.training.fit import fit, with_overrides


def train_all(recipes: list[str], data: list[str], val: list[str] | None, steps: int, output: Path,
              log: Callable[[str], None] = print, resume: bool = True) -> dict[str, Path]:
    """Fit each recipe for ``steps`` steps on ``data``; returns recipe name -> exported weights."""
    paths = {name: resolve_recipe(name) for name in recipes}  # fail fast on a typo
    exported = {}
    for name, path in paths.items():
        log(f"training {name} ({path}) for {steps} steps")
        recipe = with_overrides(load_recipe(path), data, val, steps)
        exported[Path(name).stem] = fit(recipe, output / Path(name).stem, resume=resume)
    return exported


def loss_history(run: Path, tag: str = "train/loss") -> tuple[list[int], list[float]]:
    """(steps, values) of a scalar from a run's TensorBoard log."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    if tag not in events.Tags().get("scalars", []):
        return [], []
    scalars = events.Scalars(tag)
    return [s.step for s in scalars], [s.value for s in scalars]


def save_loss_curves(runs: dict[str, Path], path: Path) -> Path:
    """One training-loss curve per run (losses of different objectives are not on one scale: see legend)."""
    return save_curve_plot({name: loss_history(run) for name, run in runs.items()}, path, "training loss",
                           "loss (recipe's own objective)", yscale="log")


def save_curve_plot(curves: dict[str, tuple[list[int], list[float]]], path: Path, title: str, ylabel: str,
                    yscale: str = "linear", note: str = "") -> Path:
    """Named (steps, values) curves in one plot; ``note`` (e.g. the command that made it) goes below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, (steps, values) in curves.items():
        if steps:
            ax.plot(steps, values, label=name)
    ax.set(title=title, xlabel="step", ylabel=ylabel, yscale=yscale)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if note:
        fig.text(0.01, 0.01, note, fontsize=6, color="gray")
    fig.tight_layout(rect=(0, 0.03 if note else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def summary_line(result: dict[str, Any]) -> str:
    """Which model scored best on PSNR, for the console."""
    best = max(result["models"].items(), key=lambda kv: kv[1]["psnr"])
    return f"best PSNR: {best[0]} ({best[1]['psnr']:.2f} dB)"
