"""Image I/O: every listed format and mode, EXIF orientation, odd files, atomic writes."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chromagen.errors import ChromagenError
from chromagen.media.image import load_image, output_path_for, save_image
from tests.conftest import smooth_color_image

RGB = smooth_color_image(30, 40)


def _save(tmp_path: Path, name: str, image: Image.Image, **options: object) -> Path:
    path = tmp_path / name
    image.save(path, **options)
    return path


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif", ".bmp", ".gif"])
def test_reads_every_format(tmp_path: Path, ext: str) -> None:
    loaded = load_image(_save(tmp_path, f"x{ext}", Image.fromarray(RGB)))
    assert loaded.rgb.shape == (30, 40, 3)
    assert loaded.rgb.dtype == np.float32 and 0 <= loaded.rgb.min() and loaded.rgb.max() <= 1
    assert loaded.alpha is None


@pytest.mark.parametrize(
    ("mode", "ext", "has_alpha"),
    [("L", ".png", False), ("1", ".png", False), ("RGB", ".png", False), ("P", ".png", False),
     ("CMYK", ".jpg", False), ("CMYK", ".tif", False), ("LA", ".png", True), ("RGBA", ".png", True),
     ("RGBA", ".webp", True)],
)
def test_reads_every_mode(tmp_path: Path, mode: str, ext: str, has_alpha: bool) -> None:
    image = Image.fromarray(RGB).convert(mode)
    if has_alpha:  # a real (non-opaque) alpha, which encoders cannot drop
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    loaded = load_image(_save(tmp_path, f"x{ext}", image))
    assert loaded.rgb.shape == (30, 40, 3)
    assert (loaded.alpha is not None) == has_alpha
    if has_alpha:
        assert loaded.alpha.shape == (30, 40) and loaded.alpha.dtype == np.uint8


def test_16_bit_gray_keeps_precision(tmp_path: Path) -> None:
    ramp = (np.linspace(0, 65535, 40 * 30).reshape(30, 40)).astype(np.uint16)
    loaded = load_image(_save(tmp_path, "x16.png", Image.fromarray(ramp)))
    assert loaded.rgb[..., 0].max() == pytest.approx(1.0, abs=1e-6)
    levels = np.unique(loaded.rgb[..., 0])
    assert len(levels) > 256  # more than 8-bit levels survived
    assert np.allclose(loaded.rgb[..., 0], loaded.rgb[..., 2])


def test_palette_with_transparency_keeps_alpha(tmp_path: Path) -> None:
    image = Image.fromarray(RGB).convert("P")
    loaded = load_image(_save(tmp_path, "p.png", image, transparency=0))
    assert loaded.alpha is not None and loaded.alpha.min() == 0


def test_gif_takes_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 10), (255, 255, 255)), Image.new("RGB", (20, 10), (0, 0, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert load_image(path).rgb.mean() > 0.99


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = _save(tmp_path, "rot.jpg", Image.fromarray(RGB), exif=exif)
    assert load_image(path).rgb.shape == (40, 30, 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"just some notes\n", "not a readable image"), (None, "no such file")],
)
def test_bad_files_raise_one_error_type(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ChromagenError, match=message):
        load_image(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = _save(tmp_path, "t.jpg", Image.fromarray(smooth_color_image(200, 200)))
    path.write_bytes(path.read_bytes()[:800])
    with pytest.raises(ChromagenError, match="could not decode"):
        load_image(path)


def test_decompression_bomb_limit_stays_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path, "big.png", Image.fromarray(RGB))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1200 px > 2x the limit -> Pillow refuses
    with pytest.raises(ChromagenError, match="decompression-bomb"):
        load_image(path)


def test_save_is_atomic_and_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    save_image(RGB.astype(np.float32) / 255, target)
    assert np.array_equal(np.asarray(Image.open(target)), RGB)
    with pytest.raises(ChromagenError, match="already exists"):
        save_image(RGB.astype(np.float32) / 255, target)

    def broken_save(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        save_image(RGB.astype(np.float32) / 255, tmp_path / "other.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_alpha_is_reattached(tmp_path: Path) -> None:
    alpha = np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))
    path = save_image(RGB, tmp_path / "a.png", alpha=alpha)
    assert np.array_equal(np.asarray(Image.open(path))[..., 3], alpha)


def test_output_path_switches_to_png_for_alpha(tmp_path: Path) -> None:
    assert output_path_for(Path("a.jpg"), tmp_path, has_alpha=True).suffix == ".png"
    assert output_path_for(Path("a.jpg"), tmp_path, has_alpha=False).suffix == ".jpg"
    assert output_path_for(Path("a.gif"), tmp_path, has_alpha=False).suffix == ".png"
