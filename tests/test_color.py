"""Color core: Lab conversion against kornia and scikit-image, round trips and model scaling."""

import kornia.color
import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from chromagen.color import (
    AB_SCALE,
    decode_lab,
    decode_lab_steps,
    gray_rgb,
    lab_to_rgb,
    model_space_to_rgb,
    rgb_to_lab,
    rgb_to_model_space,
    srgb_from_linear,
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


def test_8_bit_steps_through_the_curve_s_table_are_the_exact_levels_but_at_rounding_edges() -> None:
    """8-bit output looks linear light up in a table of ``srgb_from_linear``: at most one level off the exact
    conversion, and only where its value lies at a rounding edge (here, with 4095 steps: under 3 %)."""
    g = torch.Generator().manual_seed(6)
    l_norm, ab = torch.rand(1, 1, 64, 96, generator=g) * 2 - 1, torch.randn(1, 2, 64, 96, generator=g) * 40
    steps = 4095
    table = (srgb_from_linear(torch.linspace(0, 1, steps + 1)) * 255).round().to(torch.uint8)
    looked_up = table[decode_lab_steps(l_norm, ab, torch.tensor(float(steps))).long()].int()
    exact = (decode_lab(l_norm, ab) * 255).round().int()
    assert looked_up.shape == exact.shape == (1, 64, 96, 3)
    assert (looked_up - exact).abs().max() <= 1
    assert 0 < (looked_up != exact).float().mean() < 0.03


def test_8_bit_steps_cover_black_to_white_without_leaving_the_table() -> None:
    """Out-of-gamut colors clip to the table's ends, as the exact conversion clips them to 0 and 1."""
    l_norm = torch.tensor([-1.0, 1.0, 0.0, 0.2]).view(1, 1, 1, 4)
    ab = torch.tensor([[0.0, 0.0, 400.0, -400.0], [0.0, 0.0, 400.0, 400.0]]).view(1, 2, 1, 4)
    steps = decode_lab_steps(l_norm, ab, torch.tensor(100.0))
    assert steps.dtype == torch.int32
    assert steps.min() == 0 and steps.max() == 100
    assert steps[0, 0, 0].tolist() == [0, 0, 0] and steps[0, 0, 1].tolist() == [100, 100, 100]
