"""Colorizer: exact output size, full-resolution lightness, determinism, batching, devices."""

from pathlib import Path

import numpy as np
import pytest
import torch

from chromagen.color import gray_rgb, rgb_to_lab
from chromagen.errors import ChromagenError
from chromagen.inference import Colorizer, resolve_device, working_shape
from tests.conftest import smooth_color_image


@pytest.fixture(scope="module")
def colorizer(random_model_file: Path) -> Colorizer:
    return Colorizer.from_pretrained(str(random_model_file), device="cpu", size=64)


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0, 0].numpy()


def test_output_keeps_size_and_full_resolution_lightness(colorizer: Colorizer) -> None:
    rgb = smooth_color_image(97, 203).astype(np.float32) / 255
    out = colorizer.colorize(rgb)
    assert out.shape == rgb.shape
    # Lightness comes from the input, not from the low-resolution prediction (clipping aside).
    assert np.median(np.abs(_lightness(out) - _lightness(rgb))) < 0.5


def test_deterministic(colorizer: Colorizer) -> None:
    rgb = smooth_color_image(50, 60).astype(np.float32) / 255
    assert np.array_equal(colorizer.colorize(rgb), colorizer.colorize(rgb))


def test_batch_matches_single(colorizer: Colorizer) -> None:
    images = [smooth_color_image(40, 60, seed=s).astype(np.float32) / 255 for s in range(3)]
    images.append(smooth_color_image(33, 21).astype(np.float32) / 255)
    batch = colorizer.colorize_batch(images)
    for image, out in zip(images, batch):
        assert out.shape == image.shape
        assert np.allclose(out, colorizer.colorize(image), atol=1e-4)


def test_color_input_is_reduced_to_lightness(colorizer: Colorizer) -> None:
    rgb = smooth_color_image(40, 40).astype(np.float32) / 255
    gray = gray_rgb(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    assert np.allclose(colorizer.colorize(rgb), colorizer.colorize(gray), atol=2e-3)


def test_working_shape_keeps_aspect() -> None:
    assert working_shape(768, 1024, 256) == (192, 256)
    assert working_shape(10, 4000, 256) == (8, 256)


def test_bad_options() -> None:
    with pytest.raises(ChromagenError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ChromagenError, match="no CUDA"):
            resolve_device("cuda")
    with pytest.raises(ChromagenError, match="neither a bundled model"):
        Colorizer.from_pretrained("no-such-model")


def test_chroma_scales_ab_and_keeps_lightness(random_model_file: Path) -> None:
    lightness = torch.linspace(20, 80, 48 * 40).view(1, 1, 48, 40)
    plain, vivid, gray = (Colorizer.from_pretrained(str(random_model_file), device="cpu", size=32, chroma=c)
                          .colorize_lab(lightness) for c in (1.0, 1.5, 0.0))
    assert torch.equal(plain[:, :1], vivid[:, :1])
    assert torch.allclose(vivid[:, 1:], 1.5 * plain[:, 1:], atol=1e-5)
    assert plain[:, 1:].abs().max() > 0.01 and torch.count_nonzero(gray[:, 1:]) == 0


def test_chroma_comes_from_the_weights_file_unless_given(tmp_path: Path) -> None:
    from chromagen.models import create_model
    from chromagen.models.weights import save_generator

    kwargs = {"encoder": "efficientnet-lite0", "decoder_channels": [16, 16, 16, 16]}
    model = create_model("effnet-unet", pretrained=False, **kwargs)
    calibrated = save_generator(model, "effnet-unet", kwargs, tmp_path / "c.safetensors", extra={"chroma": "1.3"})
    assert Colorizer.from_pretrained(str(calibrated), device="cpu").chroma == 1.3
    assert Colorizer.from_pretrained(str(calibrated), device="cpu", chroma=1.0).chroma == 1.0
    broken = save_generator(model, "effnet-unet", kwargs, tmp_path / "b.safetensors", extra={"chroma": "vivid"})
    with pytest.raises(ChromagenError, match="invalid chroma"):
        Colorizer.from_pretrained(str(broken), device="cpu")
    for bad in (-0.5, 9.0, float("nan")):
        with pytest.raises(ChromagenError, match="--chroma"):
            Colorizer(model, torch.device("cpu"), chroma=bad)
