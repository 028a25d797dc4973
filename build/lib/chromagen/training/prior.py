"""The empirical ab prior that Zhang-style classification training rebalances its classes with."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from chromagen.color import rgb_to_lab
from chromagen.data import CropDataset, find_images
from chromagen.errors import ChromagenError
from chromagen.models.classification import ab_gamut_bins, empirical_prior


def _ab_batches(paths: list[str], limit: int, size: int, batch: int = 64) -> Iterator[Tensor]:
    """Lab-unit ab of center crops of the first ``limit`` images (evenly spread over the index)."""
    refs = find_images(paths)
    step = max(1, len(refs) // max(1, limit))
    dataset = CropDataset(refs[::step][:limit], size, train=False)
    for start in range(0, len(dataset), batch):
        rgb = torch.stack([dataset[i] for i in range(start, min(start + batch, len(dataset)))]).float() / 255
        yield rgb_to_lab(rgb)[:, 1:]


def estimate_prior(paths: list[str], limit: int = 2000, size: int = 128, grid: int = 10) -> Tensor:
    """(Q,) frequency of each in-gamut ab bin over the pixels of up to ``limit`` training photos."""
    return empirical_prior(_ab_batches(paths, limit, size), ab_gamut_bins(grid))


def load_prior(path: str | Path, bins: int) -> Tensor:
    """A prior saved by `chromagen prior` (a .npy vector summing to 1)."""
    try:
        prior = torch.from_numpy(np.load(path)).float()
    except (OSError, ValueError) as exc:
        raise ChromagenError(f"{path}: cannot read prior ({exc})") from exc
    if prior.shape != (bins,):
        raise ChromagenError(f"{path}: prior has shape {tuple(prior.shape)}, the model has {bins} bins")
    return prior
