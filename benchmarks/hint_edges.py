"""Can an edge-aware step after the network stop a hint's halo? An experiment for issue 14 (rejected: see
docs/hints.md, "Stopping the halo after the network").

Each hint's change to the hint model's automatic prediction (hinted ab minus unhinted ab) is kept only
inside the hint's region: weighted by exp(-D / REACH), with D the least edge cost of a 4-connected path
from a hinted pixel (Levin et al. 2004's geodesic distance, as alternating raster scans), a step costing how
far the guide (L and the automatic ab, in Lab units) changes beyond SLACK. For each setting (``off`` or
``SLACK:REACH``) it scores `chromagen evaluate`'s --fast protocol with 1 and 10 ground-truth hints, and
with ``--grid`` draws benchmarks/hint_grid.py's grid of the first setting.

    PYTHONPATH=src python benchmarks/hint_edges.py --data ../shared/data/bench/mcmaster off 2:8 10:5
    PYTHONPATH=src python benchmarks/hint_edges.py --grid /tmp/grid.png 2:8
"""

import argparse
import runpy
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from chromagen.color import L_MAX
from chromagen.evaluation.runner import Protocol, evaluate
from chromagen.inference import Colorizer

GRID_PHOTOS = ("kodak24/kodim03.jpg@50%,55%", "kodak24/kodim23.jpg@40%,50%", "kodak24/kodim20.jpg@50%,50%",
               "mcmaster/1.jpg@50%,50%")  # docs/hints.md's grid


def _scan(distance: np.ndarray, steps: np.ndarray, axis: int) -> np.ndarray:
    """``d[j] = min(d[j], d[j-1] + steps[j])`` along ``axis`` as one min-plus prefix scan: with C the running
    sum of the steps, d[j] = C[j] + min over k <= j of (d[k] - C[k])."""
    total = np.cumsum(steps, axis=axis)
    return total + np.minimum.accumulate(distance - total, axis=axis)


def edge_distance(guide: np.ndarray, seeds: np.ndarray, slack: float, rounds: int = 8) -> np.ndarray:
    """(h, w) least cost of a path from a seed over a (C, h, w) guide, a step costing its change beyond
    ``slack``: row and column sweeps both ways, until nothing changes or ``rounds`` rounds."""
    distance = np.where(seeds, 0.0, np.inf)
    costs = []
    for axis in (0, 1):
        change = np.sqrt((np.diff(guide.astype(np.float64), axis=axis + 1) ** 2).sum(axis=0))
        step = np.maximum(change - slack, 0.0)
        costs.append((np.insert(step, 0, 0.0, axis), np.insert(np.flip(step, axis), 0, 0.0, axis)))
    for _ in range(rounds):
        before = distance
        for axis, (forward, backward) in enumerate(costs):
            distance = np.flip(_scan(np.flip(_scan(distance, forward, axis), axis), backward, axis), axis)
        if np.array_equal(before, distance):
            break
    return distance


def confined(predict: Callable, slack: float, reach: float) -> Callable:
    """``Colorizer._predict`` with each hinted image's change held inside its hints' regions."""

    def run(self: Colorizer, smalls: np.ndarray, image_hw: tuple[int, int], hints: Sequence) -> np.ndarray:
        free = predict(self, smalls, image_hw, hints)
        if not any(hints):
            return free
        auto = predict(self, smalls, image_hw, [None] * len(hints))
        for i, image_hints in enumerate(hints):
            if image_hints:
                seeds = self._hint_planes(list(image_hints), image_hw, smalls.shape[-2:])[2] > 0
                guide = np.concatenate([smalls[i][None] * (L_MAX / 2), auto[i]])  # L steps in Lab units
                weight = np.exp(-edge_distance(guide, seeds, slack) / reach).astype(np.float32)
                free[i] = auto[i] + weight * (free[i] - auto[i])
        return free

    return run


def use(setting: str, original: Callable) -> None:
    """Install ``setting`` (``off`` or ``SLACK:REACH``) as the Colorizer's prediction step."""
    if setting == "off":
        Colorizer._predict = original
        return
    slack, reach = (float(v) for v in setting.split(":"))
    Colorizer._predict = confined(original, slack, reach)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("settings", nargs="+", help="off, or SLACK:REACH (Lab units)")
    parser.add_argument("--data", type=Path, action="append", default=[], help="a bench set (repeatable)")
    parser.add_argument("--model", default="hints")
    parser.add_argument("--grid", type=Path, help="draw docs/hints.md's grid with the first setting here")
    parser.add_argument("--bench", type=Path, default=Path("../shared/data/bench"), help="where --grid's photos are")
    args = parser.parse_args()
    original = Colorizer._predict
    for data in args.data:
        for setting in args.settings:
            use(setting, original)
            result, _ = evaluate({args.model: args.model}, data, Protocol(fast=True, hints=[1, 10]))
            scores = "  ".join(f"{row.split()[-2]} hints {r['psnr']:.2f} dB" for row, r in result["models"].items())
            print(f"{data.name:10s} {setting:8s} {scores}", flush=True)
    if args.grid:
        use(args.settings[0], original)
        photos = [arg for photo in GRID_PHOTOS for arg in ("--photo", str(args.bench / photo))]
        sys.argv = ["hint_grid.py", "--model", args.model, *photos, "--out", str(args.grid)]
        runpy.run_path(str(Path(__file__).with_name("hint_grid.py")), run_name="__main__")


if __name__ == "__main__":
    main()
