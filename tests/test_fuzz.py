"""Fuzz: 2,000+ mutated PNG/JPEG/GIF/TIFF/WebP files to the loader and to the CLI.

Every mutated file must either decode or raise ChromagenError (the loader), and the CLI must process the
whole folder with one ``error:`` line per bad file: no traceback, no "internal error". Mutations are made
in memory from a fixed seed, so a failure names a file that can be rebuilt exactly.
"""

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

from chromagen.cli import app
from chromagen.errors import ChromagenError
from chromagen.media import image as media
from chromagen.media.image import load_image
from tests.conftest import smooth_color_image

PER_SEED = 250  # 9 seeds x 250 = 2,250 files
SEED = 20261127


def _seeds() -> dict[str, bytes]:
    """Small valid files exercising each format's optional parts (metadata, alpha, palettes, 16 bits)."""
    rgb = smooth_color_image(24, 32)
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Kodak", 6
    files: dict[str, bytes] = {}

    def save(name: str, image: Image.Image, **options: object) -> None:
        buffer = io.BytesIO()
        image.save(buffer, format=Image.registered_extensions()[Path(name).suffix], **options)
        files[name] = buffer.getvalue()

    save("photo.jpg", Image.fromarray(rgb), exif=exif, dpi=(300, 300), progressive=True, quality=80)
    save("gray.jpg", Image.fromarray(rgb).convert("L"), quality=70)
    save("rgba.png", Image.fromarray(np.dstack([rgb, rgb[..., 0]]), "RGBA"), dpi=(72, 72))
    save("key.png", Image.fromarray(rgb).convert("P"), transparency=3)
    save("anim.gif", Image.fromarray(rgb).convert("P"), save_all=True,
         append_images=[Image.fromarray(rgb[::-1].copy()).convert("P")], duration=50)
    save("scan.tif", Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)), compression="tiff_deflate")
    save("photo.webp", Image.fromarray(np.dstack([rgb, rgb[..., 1]]), "RGBA"), quality=60)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, (rgb.astype(np.uint16) * 257), photometric="rgb")
    files["color16.tif"] = buffer.getvalue()
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb[..., 0].astype(np.float32))
    files["float.tif"] = buffer.getvalue()
    return files


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One of: flip bits, overwrite bytes with extremes, truncate, duplicate or drop a span, insert junk."""
    buf = bytearray(data)
    kind = rng.integers(6)
    if kind == 0:
        for pos in rng.integers(0, len(buf), rng.integers(1, 9)):
            buf[pos] ^= 1 << int(rng.integers(8))
    elif kind == 1:
        for pos in rng.integers(0, min(len(buf), 200), rng.integers(1, 5)):  # headers: sizes, offsets, counts
            buf[pos] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF]))
    elif kind == 2:
        buf = buf[: int(rng.integers(1, len(buf)))]
    elif kind == 3:
        start = int(rng.integers(0, len(buf)))
        end = min(len(buf), start + int(rng.integers(1, 64)))
        buf[start:start] = buf[start:end]
    elif kind == 4:
        start = int(rng.integers(0, len(buf)))
        del buf[start: start + int(rng.integers(1, 64))]
    else:
        pos = int(rng.integers(0, len(buf)))
        buf[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 32)), dtype=np.uint8).tobytes()
    return bytes(buf)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(SEED)
    for name, data in _seeds().items():
        stem, ext = Path(name).stem, Path(name).suffix
        for i in range(PER_SEED):
            (folder / f"{stem}-{i:03d}{ext}").write_bytes(_mutate(data, rng))
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-channel plain CNN: the CLI's handling is under test here, not the network, and CI has 2 cores."""
    import torch

    from chromagen.models import create_model
    from chromagen.models.weights import save_generator

    torch.manual_seed(0)
    kwargs = {"widths": [4, 4, 4, 4]}
    return save_generator(create_model("cnn", **kwargs), "cnn", kwargs, tmp_path_factory.mktemp("m") / "cnn.safetensors")


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Thousands of tiny forward passes: thread hand-offs would cost more than the convolutions."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutated size field can declare 100 megapixels; the limit itself is tested in test_io."""
    monkeypatch.setattr(media, "MAX_PIXELS", 200_000)


def test_loader_decodes_or_raises_one_error_type(corpus: Path, capfd: pytest.CaptureFixture[str]) -> None:
    files = sorted(corpus.iterdir())
    assert len(files) >= 2000
    decoded = 0
    for path in files:
        try:
            image = load_image(path)
        except ChromagenError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc), str(exc)
            continue
        assert image.pixels.ndim == 3 and image.pixels.shape[2] == 3
        assert image.pixels.dtype in (np.uint8, np.uint16)
        assert image.alpha is None or image.alpha.shape == image.pixels.shape[:2]
        decoded += 1
    assert 0.1 * len(files) < decoded < 0.95 * len(files)  # the mutations hit both outcomes
    assert capfd.readouterr().err == ""  # no decoder (libtiff, libjpeg) chatter on the real stderr


def test_cli_processes_every_mutated_file_without_a_crash(corpus: Path, tmp_path: Path, tiny_model: Path,
                                                          one_thread: None, capfd: pytest.CaptureFixture[str]) -> None:
    result = CliRunner().invoke(app, ["colorize", str(corpus), "-o", str(tmp_path / "out"),
                                      "--model", str(tiny_model), "--size", "32"])
    assert result.exit_code == 1, result.output[-2000:]
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = result.output.splitlines()  # exactly one line per failure, then the summary: no blank lines
    summary = lines[-1]
    ok, failed = int(summary.split()[0]), int(summary.split(", ")[2].split()[0])
    assert ok + failed == len(list(corpus.iterdir()))
    assert sum(line.startswith("error: ") for line in lines) == failed == len(lines) - 1
    assert not list((tmp_path / "out").glob(".*.part"))
    assert capfd.readouterr().err == ""
