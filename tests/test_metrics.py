"""Evaluation metrics against independent references: scikit-image, closed forms, published LPIPS values."""

import socket
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from chromagen.color import gray_rgb, rgb_to_lab
from chromagen.evaluation import (
    ab_accuracy_curve,
    ab_hit_counts,
    auc,
    colorfulness,
    curve_from_counts,
    is_gray,
    mse_ab,
    psnr,
    quantize8,
    ssim,
)
from tests.conftest import SHARED, smooth_color_image

LPIPS_DIR = SHARED / "testdata" / "lpips"


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 H x W x 3 arrays -> float batch (N, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0


def noisy(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``img`` plus Gaussian noise, clipped back to uint8."""
    noise = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_psnr_and_ssim_match_scikit_image() -> None:
    targets = [smooth_color_image(37, 53, seed=i) for i in range(3)]
    preds = [noisy(t, sigma, seed=i) for i, (t, sigma) in enumerate(zip(targets, (3.0, 12.0, 40.0)))]
    ours_psnr, ours_ssim = psnr(to_tensor(preds), to_tensor(targets)), ssim(to_tensor(preds), to_tensor(targets))
    for i, (p, t) in enumerate(zip(preds, targets)):
        assert abs(ours_psnr[i].item() - peak_signal_noise_ratio(t, p, data_range=255)) < 0.01
        assert abs(ours_ssim[i].item() - structural_similarity(t, p, channel_axis=2, data_range=255)) < 0.001
    assert ours_ssim[0] > ours_ssim[1] > ours_ssim[2]


def test_quantize8_rounds_to_8_bit_levels() -> None:
    x = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    q = quantize8(x)
    assert torch.allclose(q * 255, (q * 255).round(), atol=1e-4)
    assert (q - x).abs().max() <= 0.5 / 255 + 1e-6
    assert torch.equal(quantize8(q), q)


def test_colorfulness_gray_zero_saturated_large() -> None:
    gray = torch.full((1, 3, 16, 16), 0.4)
    red = torch.zeros(1, 3, 16, 16)
    red[:, 0] = 1.0
    halves = red.clone()
    halves[:, :, :, 8:] = torch.tensor([0.0, 0.0, 1.0])[:, None, None]
    scores = colorfulness(torch.cat([gray, red, halves]))
    assert scores[0] == 0
    assert scores[1].item() == pytest.approx(0.3 * np.hypot(255, 127.5))  # no spread, only the mean term
    assert scores[2] > 150


def test_mse_ab_and_is_gray() -> None:
    color = to_tensor([smooth_color_image(24, 24, seed=s) for s in range(2)])
    gray = gray_rgb(color)
    assert torch.all(mse_ab(color, color) == 0)
    ab = rgb_to_lab(color)[:, 1:]
    expected = ab.square().mean(dim=(1, 2, 3))  # a gray prediction has a = b = 0
    assert torch.allclose(mse_ab(gray, color), expected, rtol=1e-3, atol=0.05)
    assert is_gray(gray).all() and not is_gray(color).any()


def test_ab_accuracy_perfect_gray_and_monotone() -> None:
    target = to_tensor([smooth_color_image(32, 32, seed=s) for s in range(3)])
    for rebalanced in (False, True):
        perfect = ab_accuracy_curve(target, target, rebalanced=rebalanced)
        assert torch.all(perfect == 1) and auc(perfect) == pytest.approx(1.0)
        curve = ab_accuracy_curve(gray_rgb(target), target, rebalanced=rebalanced)
        assert curve.shape == (151,)
        assert torch.all(curve[1:] >= curve[:-1])
        assert 0 < auc(curve) < 1


def test_rebalanced_curve_weights_color_classes_equally() -> None:
    # Three quarters neutral gray (predicted exactly), one quarter saturated red predicted as gray.
    target = torch.full((1, 3, 8, 8), 0.5)
    target[:, :, :2] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    pred = gray_rgb(target)
    pred[:, :, 2:] = target[:, :, 2:]
    plain = ab_accuracy_curve(pred, target, thresholds=[0.0, 1.0, 150.0])
    rebalanced = ab_accuracy_curve(pred, target, thresholds=[0.0, 1.0, 150.0], rebalanced=True)
    assert plain.tolist() == pytest.approx([0.75, 0.75, 1.0])
    assert rebalanced.tolist() == pytest.approx([0.5, 0.5, 1.0])


def test_hit_counts_add_across_batches() -> None:
    target = to_tensor([smooth_color_image(16, 16, seed=s) for s in range(4)])
    pred = gray_rgb(target)
    whole = ab_hit_counts(pred, target)
    halves = [ab_hit_counts(pred[i:i + 2], target[i:i + 2]) for i in (0, 2)]
    summed = (halves[0][0] + halves[1][0], halves[0][1] + halves[1][1])
    for rebalanced in (False, True):
        assert torch.equal(curve_from_counts(*whole, rebalanced), curve_from_counts(*summed, rebalanced))


@pytest.mark.skipif(not LPIPS_DIR.is_dir(), reason=f"LPIPS reference triplet not found at {LPIPS_DIR}")
def test_lpips_reproduces_published_values_offline(block_network: None) -> None:
    from chromagen.evaluation.lpips_offline import build_lpips, lpips_distance

    build_lpips.cache_clear()  # build under the network block
    ref, p0, p1 = (to_tensor([np.array(Image.open(LPIPS_DIR / f"{name}.png").convert("RGB"))])
                   for name in ("ex_ref", "ex_p0", "ex_p1"))
    distances = lpips_distance(torch.cat([ref, ref, ref]), torch.cat([p0, p1, ref]))
    assert round(distances[0].item(), 3) == 0.722
    assert round(distances[1].item(), 3) == 0.138
    assert distances[2].item() == pytest.approx(0.0, abs=1e-6)


def stripes(seed: int, size: int = 64) -> np.ndarray:
    """High-frequency colored stripes: a distribution far from smooth gradients."""
    rng = np.random.default_rng(seed)
    period = rng.integers(3, 9)
    band = (np.arange(size) // period) % 2
    colors = rng.integers(0, 256, (2, 3))
    return np.broadcast_to(colors[band][None], (size, size, 3)).astype(np.uint8)


@pytest.fixture(scope="module")
def fid_features() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Inception features of 40 smooth images and of 10 striped ones, extracted with the network blocked."""
    from chromagen.evaluation import fid as fid_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", lambda *a, **k: pytest.fail("FID tried to use the network"))
        fid_module._helper.cache_clear()
        smooth = fid_module.inception_features(to_tensor([smooth_color_image(64, 64, seed=s) for s in range(40)]))
        striped = fid_module.inception_features(to_tensor([stripes(s) for s in range(10)]))
    yield smooth, striped


@pytest.mark.slow
def test_fid_of_a_set_with_itself_is_zero(fid_features: tuple[torch.Tensor, torch.Tensor]) -> None:
    from chromagen.evaluation.fid import fid

    smooth, _ = fid_features
    assert smooth.shape == (40, 2048)
    assert abs(fid(smooth, smooth)) < 1e-2


@pytest.mark.slow
def test_fid_of_different_sets_is_large(fid_features: tuple[torch.Tensor, torch.Tensor]) -> None:
    from chromagen.evaluation.fid import fid

    smooth, striped = fid_features
    between = fid(smooth, striped)
    within = fid(smooth[:20], smooth[20:])
    assert between > within > 0
    assert between == pytest.approx(fid(striped, smooth), rel=1e-4)
