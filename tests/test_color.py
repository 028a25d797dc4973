"""Color core: Lab conversion against kornia and scikit-image, round trips and model scaling."""

import kornia.color
import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from chromagen.color import (
    AB_SCALE,
    gray_rgb,
    lab_to_rgb,
    model_space_to_rgb,
    rgb_to_lab,
    rgb_to_model_space,
)


def test_round_trip_error_below_1e_3() -> None:
    rgb = torch.rand(4, 3, 32, 40, generator=torch.Generator().manual_seed(0))
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-3


def test_model_space_round_trip() -> None:
    rgb = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    l_norm, ab = rgb_to_model_space(rgb)
    assert l_norm.min() >= -1 and l_norm.max() <= 1
    assert ab.abs().max() <= 128 / AB_SCALE
    assert (model_space_to_rgb(l_norm, ab) - rgb).abs().max() < 1e-3


@pytest.mark.parametrize("shape", [(2, 3, 17, 23), (3, 5, 7)])
def test_lab_to_rgb_is_kornias_conversion(shape: tuple[int, ...]) -> None:
    """Ours is rewritten for ONNX Runtime's speed; it must stay kornia's math, out-of-gamut and clipping included."""
    g = torch.Generator().manual_seed(4)
    lab = torch.rand(shape, generator=g) * torch.tensor([100.0, 256.0, 256.0]).view(3, 1, 1) \
        - torch.tensor([0.0, 128.0, 128.0]).view(3, 1, 1)
    assert (lab_to_rgb(lab) - kornia.color.lab_to_rgb(lab, clip=True)).abs().max() < 2e-5


def test_lab_to_rgb_gradients_are_finite_and_match_kornias() -> None:
    """The colorfulness loss trains through this conversion: same gradients as kornia's, none NaN."""
    lab = (torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(5)) * torch.tensor([100.0, 200.0, 200.0])
           .view(3, 1, 1) - torch.tensor([0.0, 100.0, 100.0]).view(3, 1, 1)).requires_grad_()
    (ours,) = torch.autograd.grad(lab_to_rgb(lab).sum(), lab)
    (theirs,) = torch.autograd.grad(kornia.color.lab_to_rgb(lab, clip=True).sum(), lab)
    assert torch.isfinite(ours).all()
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_agrees_with_scikit_image() -> None:
    rgb = np.random.default_rng(2).random((24, 24, 3)).astype(np.float32)
    ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    ref = rgb2lab(rgb)  # D65, 2 degree observer
    assert np.abs(ours - ref).max(axis=(0, 1)).max() < 0.05


def test_gray_rgb_is_neutral_and_keeps_lightness() -> None:
    rgb = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    gray = gray_rgb(rgb)
    assert (gray.max(1).values - gray.min(1).values).max() < 1e-3
    assert (rgb_to_lab(gray)[:, 0] - rgb_to_lab(rgb)[:, 0]).abs().max() < 1e-2


def test_runs_on_batches_of_any_device_dtype() -> None:
    rgb = torch.rand(3, 3, 5, 7, dtype=torch.float64)
    assert rgb_to_lab(rgb).shape == (3, 3, 5, 7)
