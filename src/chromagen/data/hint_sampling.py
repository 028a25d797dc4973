"""Simulated user hints for training and evaluation (Zhang et al. 2017): ground-truth colors revealed in
a few small patches.

A hint map is (N, 3, H, W): the revealed normalized ab (0 elsewhere) and a mask (1 where revealed). The
number of points per image is geometric (many images get none or few: the model must stay a good automatic
colorizer), locations are biased toward the center as in the paper, and each patch takes the ground truth's
mean ab over its square, the way a user picks one color for a small area.
"""

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from chromagen.training.config import HintsConfig


def hint_map(ab: Tensor, points: list[list[tuple[int, int, int]]]) -> Tensor:
    """(N, 2, H, W) normalized ab + per image a list of (row, col, patch side) -> (N, 3, H, W) hint map."""
    n, _, h, w = ab.shape
    hints = torch.zeros(n, 3, h, w, dtype=ab.dtype, device=ab.device)
    for i, spots in enumerate(points):
        for row, col, side in spots:
            r0, c0 = max(0, row - side // 2), max(0, col - side // 2)
            r1, c1 = min(h, row + side // 2 + 1), min(w, col + side // 2 + 1)
            hints[i, :2, r0:r1, c0:c1] = ab[i, :, r0:r1, c0:c1].mean(dim=(1, 2), keepdim=True)
            hints[i, 2, r0:r1, c0:c1] = 1.0
    return hints


def random_counts(n: int, cfg: "HintsConfig", generator: torch.Generator | None = None) -> list[int]:
    """How many points each of ``n`` images reveals: geometric, plus ``zero_share`` extra hint-free images."""
    uniform = torch.rand(n, generator=generator).clamp(min=1e-12)
    counts = (torch.log(uniform) / torch.log1p(torch.tensor(-cfg.p))).floor()  # inverse CDF of the geometric
    zero = torch.rand(n, generator=generator) < cfg.zero_share
    return torch.where(zero, 0, counts.clamp(max=cfg.max_points)).long().tolist()


def sample_points(counts: list[int], h: int, w: int, cfg: "HintsConfig", generator: torch.Generator | None = None
                  ) -> list[list[tuple[int, int, int]]]:
    """Random (row, col, patch side) points, ``counts[i]`` of them for image i of ``h`` x ``w``."""
    points = []
    for k in counts:
        centers = 0.5 + cfg.center_sigma * torch.randn(k, 2, generator=generator)
        rows = (centers[:, 0].clamp(0, 1 - 1e-6) * h).long().tolist()
        cols = (centers[:, 1].clamp(0, 1 - 1e-6) * w).long().tolist()
        sides = (2 * torch.randint(0, cfg.max_patch // 2 + 1, (k,), generator=generator) + 1).tolist()
        points.append(list(zip(rows, cols, sides)))
    return points


def simulate_hints(ab: Tensor, cfg: "HintsConfig", generator: torch.Generator | None = None) -> Tensor:
    """A random hint map for a batch of normalized ab (N, 2, H, W), as the training recipe samples them."""
    n, _, h, w = ab.shape
    return hint_map(ab, sample_points(random_counts(n, cfg, generator), h, w, cfg, generator))
