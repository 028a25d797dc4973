"""Evaluation: per-image colorization metrics, plus offline LPIPS (``lpips_offline``) and FID (``fid``).

The LPIPS and FID modules load networks and are imported on demand, not from here.
"""

from chromagen.evaluation.metrics import (
    THRESHOLDS,
    ab_accuracy_curve,
    ab_hit_counts,
    auc,
    chroma,
    colorfulness,
    curve_from_counts,
    is_gray,
    mse_ab,
    psnr,
    quantize8,
    ssim,
)

__all__ = [
    "THRESHOLDS",
    "ab_accuracy_curve",
    "ab_hit_counts",
    "auc",
    "chroma",
    "colorfulness",
    "curve_from_counts",
    "is_gray",
    "mse_ab",
    "psnr",
    "quantize8",
    "ssim",
]
