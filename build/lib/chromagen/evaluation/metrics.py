"""Per-image colorization metrics on sRGB batches: fidelity (PSNR, SSIM, ab error) and vividness.

Every image argument is a float tensor (N, 3, H, W) of sRGB values in [0, 1]. Per-image metrics
return a tensor of shape (N,); the accuracy curves pool all pixels of the batch they are given.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from chromagen.color import rgb_to_lab

# Zhang et al. (2016) sweep the ab error threshold over 0..150 Lab units.
THRESHOLDS: tuple[int, ...] = tuple(range(151))
# Ground-truth color classes for the rebalanced curve: a 10-unit grid over a, b in [-110, 110].
AB_BIN = 10.0
AB_RANGE = 110.0
SSIM_WINDOW = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03


def quantize8(x: Tensor) -> Tensor:
    """Round [0, 1] values to the 256 levels of an 8-bit image, as a saved PNG would store them."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """RGB PSNR in dB (peak 1.0) of the 8-bit images; identical images give +inf."""
    diff = quantize8(pred).double() - quantize8(target).double()
    mse = diff.square().mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(1.0 / mse)


def _box_mean(t: Tensor) -> Tensor:
    """Mean over each 7x7 window that fits inside the image (no padding)."""
    return F.avg_pool2d(t, SSIM_WINDOW, stride=1)


def ssim(pred: Tensor, target: Tensor) -> Tensor:
    """Mean SSIM over RGB channels of the 8-bit images, as scikit-image computes it by default.

    That is a 7x7 uniform window, sample covariances, K1 = 0.01, K2 = 0.03, and the mean taken only
    where the window fits inside the image (scikit-image crops the 3-pixel border of its SSIM map).
    """
    x, y = quantize8(pred).double(), quantize8(target).double()
    mx, my = _box_mean(x), _box_mean(y)
    unbias = SSIM_WINDOW**2 / (SSIM_WINDOW**2 - 1)
    vx = unbias * (_box_mean(x * x) - mx * mx)
    vy = unbias * (_box_mean(y * y) - my * my)
    cxy = unbias * (_box_mean(x * y) - mx * my)
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # data range 1.0
    ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return ssim_map.mean(dim=(1, 2, 3))


def mse_ab(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of the a and b channels in Lab units: color error with lightness left out."""
    diff = rgb_to_lab(pred)[:, 1:] - rgb_to_lab(target)[:, 1:]
    return diff.square().mean(dim=(1, 2, 3))


def colorfulness(rgb: Tensor) -> Tensor:
    """Hasler & Suesstrunk (2003) colorfulness on the 0-255 scale; 0 for gray, ~100+ for vivid images."""
    r, g, b = (rgb.double() * 255.0).flatten(2).unbind(1)
    rg, yb = r - g, 0.5 * (r + g) - b
    spread = torch.sqrt(rg.var(dim=1, correction=0) + yb.var(dim=1, correction=0))
    offset = torch.sqrt(rg.mean(dim=1).square() + yb.mean(dim=1).square())
    return spread + 0.3 * offset


def chroma(rgb: Tensor) -> Tensor:
    """Per-pixel Lab chroma sqrt(a^2 + b^2), shape (N, H, W)."""
    return rgb_to_lab(rgb)[:, 1:].norm(dim=1)


def is_gray(rgb: Tensor, threshold: float = 2.0) -> Tensor:
    """True where the mean chroma is below ``threshold``: gray ground truths say nothing about color."""
    return chroma(rgb).mean(dim=(1, 2)) < threshold


def ab_hit_counts(pred: Tensor, target: Tensor, thresholds: Sequence[float] = THRESHOLDS) -> tuple[Tensor, Tensor]:
    """Per ground-truth ab bin: (pixels within each threshold (bins, T), pixels (bins,)); add across batches.

    The error of a pixel is the Euclidean distance between predicted and true (a, b). Summing both
    tensors over batches and passing them to :func:`curve_from_counts` gives the curve of the whole set.
    """
    lab_pred, lab_true = rgb_to_lab(pred), rgb_to_lab(target)
    error = (lab_pred[:, 1:] - lab_true[:, 1:]).norm(dim=1).flatten().double()
    per_axis = int(2 * AB_RANGE / AB_BIN)
    cells = ((lab_true[:, 1:] + AB_RANGE) / AB_BIN).floor().long().clamp(0, per_axis - 1)
    color_class = (cells[:, 0] * per_axis + cells[:, 1]).flatten()
    steps = torch.as_tensor(thresholds, dtype=torch.float64, device=error.device)
    # Index of the first threshold the error does not exceed; len(steps) when it exceeds them all.
    first_hit = torch.searchsorted(steps, error, side="left")
    joint = torch.bincount(color_class * (len(steps) + 1) + first_hit,
                           minlength=per_axis**2 * (len(steps) + 1)).view(per_axis**2, len(steps) + 1)
    hits = joint.cumsum(dim=1)[:, :-1]
    return hits, joint.sum(dim=1)


def curve_from_counts(hits: Tensor, totals: Tensor, rebalanced: bool = False) -> Tensor:
    """Fraction of pixels within each threshold, plain or class-rebalanced.

    Rebalanced: each pixel is weighted by 1 / p(c), p(c) the frequency of its ground-truth ab bin c
    in the evaluated set, weights normalized to sum to 1. This equals the mean, over the bins that
    occur, of the within-bin accuracy, so rare (usually saturated) colors count as much as common ones.
    """
    if rebalanced:
        present = totals > 0
        return (hits[present].double() / totals[present, None].double()).mean(dim=0)
    return hits.sum(dim=0).double() / totals.sum().double()


def ab_accuracy_curve(pred: Tensor, target: Tensor, thresholds: Sequence[float] = THRESHOLDS,
                      rebalanced: bool = False) -> Tensor:
    """Fraction of the batch's pixels with ab error <= t for each threshold t (Zhang et al. 2016), shape (T,)."""
    return curve_from_counts(*ab_hit_counts(pred, target, thresholds), rebalanced=rebalanced)


def auc(curve: Tensor, thresholds: Sequence[float] = THRESHOLDS) -> float:
    """Area under an accuracy curve divided by the threshold span, so a perfect prediction scores 1.0."""
    steps = torch.as_tensor(thresholds, dtype=torch.float64, device=curve.device)
    return float(torch.trapezoid(curve.double(), steps) / (steps[-1] - steps[0]))
