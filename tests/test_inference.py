"""Colorizer: exact output size and dtype, full-resolution lightness, input validation, banded memory."""

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from chromagen.backends.torch_backend import TorchBackend, resolve_device
from chromagen.color import gray_rgb, rgb_to_lab
from chromagen.errors import ChromagenError
from chromagen.inference import BAND_PIXELS, MAX_SIZE, Colorizer, working_shape
from tests.conftest import smooth_color_image


@pytest.fixture(scope="module")
def colorizer(random_model_file: Path) -> Colorizer:
    return Colorizer.from_pretrained(str(random_model_file), device="cpu", size=64)


@pytest.fixture(scope="module", params=["torch", "onnx"])
def either(request: pytest.FixtureRequest, random_model_file: Path) -> Colorizer:
    """The same random model on each backend."""
    model = random_model_file if request.param == "torch" else request.getfixturevalue("random_onnx_file")
    return Colorizer.from_pretrained(str(model), device="cpu", size=64, backend=request.param)


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0, 0].numpy()


def test_output_keeps_size_and_full_resolution_lightness(either: Colorizer) -> None:
    rgb = smooth_color_image(97, 203).astype(np.float32) / 255
    out = either.colorize(rgb)
    assert out.shape == rgb.shape and out.dtype == np.float32
    # Lightness comes from the input, not from the low-resolution prediction (clipping aside).
    assert np.median(np.abs(_lightness(out) - _lightness(rgb))) < 0.5


@pytest.mark.parametrize("kind", ["rgb8", "gray8", "rgb16", "float"])
def test_bands_give_the_untiled_result(either: Colorizer, kind: str) -> None:
    rgb = smooth_color_image(150, 173, seed=3)
    image = {"rgb8": rgb, "gray8": rgb[..., 1], "rgb16": rgb.astype(np.uint16) * 257 + 11,
             "float": rgb.astype(np.float64) / 255}[kind]
    whole = either.colorize(image)
    either.band_pixels = 173 * 7  # 7-row bands, the last one shorter
    # Vectorized kernels (torch's loop tails, ONNX Runtime's matrix product in decode_lab) handle a band's
    # last elements with other code, so a float32 may move by an ulp with the band's shape; integer outputs
    # are bit-identical.
    tolerance = 1e-6 if kind == "float" else 0.0
    try:
        assert np.abs(either.colorize(image) - whole.astype(np.float64)).max() <= tolerance
    finally:
        either.band_pixels = BAND_PIXELS


def test_8_bit_output_is_the_exact_conversion_rounded_but_at_rounding_edges(either: Colorizer) -> None:
    """uint8 results go through the linear-light table (``LINEAR_STEPS``), float results through the exact
    curve: the same colors, one level apart in a few channels at most."""
    rgb = smooth_color_image(120, 160, seed=8)
    table_path = either.colorize(rgb).astype(np.int64)
    exact = np.rint(either.colorize(rgb.astype(np.float32) / 255) * 255).astype(np.int64)
    assert np.abs(table_path - exact).max() <= 1
    assert np.mean(table_path != exact) < 0.01


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_bands_share_the_memory_budget_between_workers(colorizer: Colorizer, workers: int) -> None:
    spans = list(colorizer._bands(768, 1024, workers))
    assert spans[0][0] == 0 and spans[-1][1] == 768 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert max(stop - start for start, stop in spans) * 1024 * workers <= BAND_PIXELS
    assert len(spans) % workers == 0  # every worker gets as many bands


def test_recombine_batch_runs_images_side_by_side_with_the_same_result(colorizer: Colorizer, monkeypatch) -> None:
    frames = [np.random.default_rng(i).integers(0, 256, (40, 56), np.uint8) for i in range(5)]
    ab = colorizer.predict_ab(frames)
    monkeypatch.setattr(colorizer.backend, "workers", 3)
    together = colorizer.recombine_batch(frames, ab)
    assert all(np.array_equal(t, colorizer.recombine(f, a)) for t, f, a in zip(together, frames, ab))
    with pytest.raises(ChromagenError, match="4 ab predictions for 5 images"):
        colorizer.recombine_batch(frames, ab[:4])


def test_bands_run_side_by_side_with_the_same_result(either: Colorizer, monkeypatch) -> None:
    rgb = smooth_color_image(150, 173, seed=5)
    monkeypatch.setattr(either, "band_pixels", 4096)  # several bands, so the workers really split them
    monkeypatch.setattr(either.backend, "workers", 1)
    serial = either.colorize(rgb)
    monkeypatch.setattr(either.backend, "workers", 3)
    assert np.array_equal(either.colorize(rgb), serial)


def test_lightness_bands_run_side_by_side_too(either: Colorizer, monkeypatch) -> None:
    """A color photo's lightness goes through the color graph, as costly a pass as the recombination."""
    monkeypatch.setattr(either, "band_pixels", 4096)
    monkeypatch.setattr(either.backend, "workers", 2)
    real, steps = either._each_band, []
    monkeypatch.setattr(either, "_each_band", lambda work, *args: steps.append(work.__qualname__) or real(work, *args))
    either.colorize(smooth_color_image(150, 173, seed=5))
    assert [step.split(".")[1] for step in steps] == ["_lightness", "_recombine"]


def test_an_image_that_fits_one_band_keeps_one_thread(either: Colorizer, monkeypatch) -> None:
    """Video frames: a thread pool per frame cost more than it saved (docstring of ``_each_band``)."""
    monkeypatch.setattr(either.backend, "workers", 3)
    calls: list[int] = []
    monkeypatch.setattr("chromagen.inference.ThreadPoolExecutor", lambda n: calls.append(n))
    either.colorize(smooth_color_image(40, 48, seed=6))
    assert calls == []


def test_onnx_runs_as_many_bands_at_once_as_threads(random_onnx_file: Path) -> None:
    colorizer = Colorizer.from_pretrained(str(random_onnx_file), device="cpu", backend="onnx", threads=3)
    assert colorizer.backend.workers == 3


def test_returns_the_input_dtype(colorizer: Colorizer) -> None:
    rgb = smooth_color_image(40, 56)
    out8, out16, outf = (colorizer.colorize(a) for a in (rgb, rgb.astype(np.uint16) * 257, rgb / 255.0))
    assert (out8.dtype, out16.dtype, outf.dtype) == (np.uint8, np.uint16, np.float32)
    assert np.abs(out16 / 257.0 - out8).max() <= 1
    assert np.abs(outf * 255 - out8).max() <= 1


def test_accepts_pil_gray_and_rgba(colorizer: Colorizer) -> None:
    rgb = smooth_color_image(40, 56)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    expected = colorizer.colorize(np.repeat(gray[..., None], 3, axis=2))
    rgba = np.dstack([np.repeat(gray[..., None], 3, axis=2), np.full(gray.shape, 7, np.uint8)])
    for image in (gray, Image.fromarray(gray), Image.fromarray(rgba, "RGBA"), rgba, gray[..., None]):
        assert np.array_equal(colorizer.colorize(image), expected)
    sixteen = Image.fromarray(gray.astype(np.uint16) * 257)
    assert colorizer.colorize(sixteen).dtype == np.uint16


@pytest.mark.parametrize(("image", "message"), [
    (np.full((8, 8, 3), np.nan, np.float32), "NaN or infinite"),
    (np.array([[0.0, np.inf]]), "NaN or infinite"),
    (np.full((8, 8), 255.0), r"\[0, 1\].*divide 0..255"),
    (np.full((8, 8), -0.5, np.float32), r"\[0, 1\]"),
    (np.zeros((8, 8), np.int32), "dtype int32"),
    (np.zeros((8, 8), bool), "dtype bool"),
    (np.zeros((8, 8, 2), np.uint8), "shape"),
    (np.zeros((2, 8, 8, 3), np.uint8), "shape"),
    (np.zeros((0, 8, 3), np.uint8), "empty"),
    ([[0, 1]], "numpy array"),
])
def test_rejects_bad_input_with_a_clear_error(colorizer: Colorizer, image: object, message: str) -> None:
    with pytest.raises(ChromagenError, match=message):
        colorizer.colorize(image)


def test_never_predicts_above_the_input_resolution(random_model_file: Path) -> None:
    big = Colorizer.from_pretrained(str(random_model_file), device="cpu", size=MAX_SIZE)
    assert big.predict_ab([smooth_color_image(40, 50)]).shape == (1, 2, 40, 50)
    for size in (MAX_SIZE + 1, 16):
        with pytest.raises(ChromagenError, match="--size must be between"):
            Colorizer.from_pretrained(str(random_model_file), device="cpu", size=size)


def test_predict_ab_then_recombine_is_colorize(colorizer: Colorizer) -> None:
    image = smooth_color_image(70, 90, seed=2)
    ab = colorizer.predict_ab([image])
    assert ab.shape == (1, 2, *working_shape(70, 90, colorizer.size)) and ab.dtype == np.float32
    assert np.array_equal(colorizer.recombine(image, ab), colorizer.colorize(image))


def test_predict_hands_recombine_the_lightness_it_computed(colorizer: Colorizer, monkeypatch) -> None:
    """A film's frames: each frame's full-resolution L is computed once, not again to recombine it."""
    from chromagen.sequence import colorize_frames
    from chromagen.temporal import Stabilizer

    frames = np.stack([smooth_color_image(60, 80, seed=i) for i in range(3)])
    expected = [colorizer.colorize(f) for f in frames]
    ab, lightness = colorizer.predict(list(frames))
    assert [plane.shape for plane in lightness] == [(60, 80)] * 3
    assert all(np.array_equal(a, b) for a, b in zip(colorizer.recombine_batch(list(frames), ab, lightness), expected))
    real, passes = colorizer._lightness, []
    monkeypatch.setattr(colorizer, "_lightness", lambda *args: passes.append(args[1]) or real(*args))
    colorized = colorize_frames(colorizer, frames, Stabilizer(0.0))
    assert len(passes) == 3 and all(np.array_equal(a, b) for a, b in zip(colorized, expected))
    with pytest.raises(ChromagenError, match="2 lightness planes for 3 images"):
        colorizer.recombine_batch(list(frames), ab, lightness[:2])
    with pytest.raises(ChromagenError, match="lightness of shape"):
        colorizer.recombine(frames[0], ab[0], lightness=lightness[0][:30])


def test_hints_need_a_hint_aware_model(colorizer: Colorizer) -> None:
    with pytest.raises(ChromagenError, match="takes no color hints"):
        colorizer.colorize(smooth_color_image(40, 40), hints=[object()])  # type: ignore[list-item]


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


def test_full_resolution_work_is_a_few_bytes_per_pixel(colorizer: Colorizer) -> None:
    """uint8 in, uint8 out: 3 + 3 bytes a pixel, plus 4 for the kept lightness and one band of floats."""
    image = np.repeat(smooth_color_image(30, 40)[:, :, :1], 3, axis=2)
    image = np.ascontiguousarray(np.tile(image, (60, 60, 1)))  # 1800 x 2400 = 4.3 Mpx
    colorizer.colorize(image[:64, :64])
    tracemalloc.start()
    colorizer.colorize(image)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * image.shape[0] * image.shape[1] + 80 * 2**20


def test_working_shape_keeps_aspect_and_the_input_resolution() -> None:
    assert working_shape(768, 1024, 256) == (192, 256)
    assert working_shape(100, 150, 256) == (100, 150)
    assert working_shape(10, 4000, 256) == (32, 256)


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
            Colorizer(TorchBackend(model, torch.device("cpu")), chroma=bad)
