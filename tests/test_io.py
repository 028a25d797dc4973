"""Image I/O: every format and mode at native depth, color management, metadata, odd files, atomic writes."""

import os
import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageSequence

from chromagen.errors import ChromagenError
from chromagen.media import image as media
from chromagen.media import quiet_decoders
from chromagen.media.image import ImageMeta, load_image, output_path_for, save_image
from tests.conftest import smooth_color_image

RGB = smooth_color_image(30, 40)


def _save(tmp_path: Path, name: str, image: Image.Image, **options: object) -> Path:
    path = tmp_path / name
    image.save(path, **options)
    return path


def _png16(path: Path) -> np.ndarray:
    """Decode a PNG written with filter type 0 on every row (ours): the 16-bit samples, big-endian."""
    data, pos, idat, header = path.read_bytes(), 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 16
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, -1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].copy().view(">u2").reshape(height, width, -1).astype(np.uint16)


def adobe_rgb_profile() -> bytes:
    """A minimal ICC v2 matrix/TRC profile with Adobe RGB (1998) primaries and gamma 2.2 (no files needed)."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + s15(x) + s15(y) + s15(z)

    curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\x00\x00"
    desc_text = b"Adobe RGB test\x00"
    desc = b"desc\x00\x00\x00\x00" + struct.pack(">I", len(desc_text)) + desc_text + b"\x00" * 79
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)), (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
            (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text\x00\x00\x00\x00none\x00\x00\x00\x00")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\x00" * (-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"none" + b"\x02\x10\x00\x00" + b"mntrRGB XYZ " + b"\x00" * 12 + b"acsp"
              + b"\x00" * 24 + b"\x00" * 4 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\x00" * 48)
    return header + table + body


@pytest.mark.parametrize("ext", [".jpg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".bmp", ".gif", ".jp2", ".j2k",
                                 ".jpx", ".jpf", ".ppm", ".pnm", ".tga"])
def test_reads_every_format(tmp_path: Path, ext: str) -> None:
    loaded = load_image(_save(tmp_path, f"x{ext}", Image.fromarray(RGB)))
    assert loaded.pixels.shape == (30, 40, 3) and loaded.pixels.dtype == np.uint8
    assert loaded.rgb.dtype == np.float32 and 0 <= loaded.rgb.min() and loaded.rgb.max() <= 1
    assert loaded.alpha is None and loaded.size == (40, 30)


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
    assert loaded.pixels.shape == (30, 40, 3)
    assert (loaded.alpha is not None) == has_alpha
    if has_alpha:
        assert loaded.alpha.shape == (30, 40) and loaded.alpha.dtype == np.uint8


def test_16_bit_gray_stays_16_bit(tmp_path: Path) -> None:
    ramp = (np.linspace(0, 65535, 40 * 30).reshape(30, 40)).astype(np.uint16)
    loaded = load_image(_save(tmp_path, "x16.png", Image.fromarray(ramp)))
    assert loaded.pixels.dtype == np.uint16
    assert np.array_equal(loaded.pixels[..., 0], ramp) and np.array_equal(loaded.pixels[..., 2], ramp)


def test_16_bit_color_tiff_stays_16_bit(tmp_path: Path) -> None:
    data = (np.random.default_rng(0).random((30, 40, 3)) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "c16.tif", data, photometric="rgb")
    assert np.array_equal(load_image(tmp_path / "c16.tif").pixels, data)


@pytest.mark.parametrize("alpha", [False, True])
def test_16_bit_color_png_stays_16_bit(tmp_path: Path, alpha: bool) -> None:
    """Pillow reads 48/64-bit PNG at 8 bits; every 16-bit sample must survive the load."""
    data = (np.random.default_rng(2).random((30, 40, 3)) * 65535).astype(np.uint16)
    mask = np.arange(30 * 40, dtype=np.uint16).reshape(30, 40) * 50 if alpha else None
    path = save_image(data, tmp_path / "c16.png", alpha=mask)
    loaded = load_image(path)
    assert np.array_equal(loaded.pixels, data)
    assert (loaded.alpha is None) if mask is None else np.array_equal(loaded.alpha, mask)


@pytest.mark.parametrize("peak", [1.0, 255.0])
def test_float_tiff_is_scaled_by_its_range(tmp_path: Path, peak: float) -> None:
    """A float TIFF holding 0..255 used to come out pure white (clipped to [0, 1])."""
    ramp = np.linspace(0, peak, 40 * 30, dtype=np.float32).reshape(30, 40)
    tifffile.imwrite(tmp_path / "f.tif", ramp)
    pixels = load_image(tmp_path / "f.tif").pixels
    assert pixels.dtype == np.uint16
    assert np.allclose(pixels[..., 0] / 65535, ramp / peak, atol=1e-4)


def test_signed_16_bit_tiff_is_read_signed(tmp_path: Path) -> None:
    values = np.array([[-1000, 0, 16384, 32767]], np.int16)
    tifffile.imwrite(tmp_path / "s.tif", values)
    pixels = load_image(tmp_path / "s.tif").pixels[0, :, 0]
    assert pixels.tolist() == [0, 0, 32768, 65535]  # negatives are below black; 32767 is white


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_trns_color_key_becomes_alpha(tmp_path: Path, mode: str) -> None:
    image = Image.fromarray(RGB).convert(mode)
    key = image.getpixel((0, 0))
    loaded = load_image(_save(tmp_path, "k.png", image, transparency=key))
    assert loaded.alpha is not None
    expected = np.asarray(image) == key
    expected = expected.all(axis=2) if expected.ndim == 3 else expected
    assert np.array_equal(loaded.alpha == 0, expected)


def test_palette_with_transparency_keeps_alpha(tmp_path: Path) -> None:
    image = Image.fromarray(RGB).convert("P")
    loaded = load_image(_save(tmp_path, "p.png", image, transparency=0))
    assert loaded.alpha is not None and loaded.alpha.min() == 0


def test_icc_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    """Adobe RGB pure green is far more saturated than sRGB can show: read as sRGB it would stay (0, 255, 0)."""
    green = Image.new("RGB", (8, 8), (30, 200, 40))
    path = _save(tmp_path, "adobe.jpg", green, icc_profile=adobe_rgb_profile(), quality=100)
    loaded = load_image(path)
    assert loaded.meta is not None and loaded.meta.icc
    expected = ImageCms.profileToProfile(Image.open(path), ImageCms.ImageCmsProfile(
        __import__("io").BytesIO(adobe_rgb_profile())), ImageCms.createProfile("sRGB"))
    assert np.array_equal(loaded.pixels, np.asarray(expected))
    assert loaded.pixels[..., 0].mean() < 20  # Adobe's wider green has less red in sRGB terms
    out = save_image(loaded.pixels, tmp_path / "out.jpg", meta=loaded.meta)
    written = ImageCms.ImageCmsProfile(__import__("io").BytesIO(Image.open(out).info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(written)


def test_color_key_survives_color_management(tmp_path: Path) -> None:
    path = _save(tmp_path, "keyed.png", Image.fromarray(RGB), icc_profile=adobe_rgb_profile(),
                 transparency=tuple(int(v) for v in RGB[0, 0]))
    loaded = load_image(path)
    assert loaded.meta.icc and loaded.alpha is not None and loaded.alpha[0, 0] == 0


def test_broken_icc_profile_is_ignored(tmp_path: Path) -> None:
    path = _save(tmp_path, "bad-icc.png", Image.fromarray(RGB), icc_profile=b"not a profile at all")
    loaded = load_image(path)
    assert np.array_equal(loaded.pixels, RGB) and not loaded.meta.icc


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Kodak"  # Make
    exif[0x0132] = "1931:05:04 12:00:00"  # DateTime
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise on display
    return exif


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_metadata_is_written_back(tmp_path: Path, ext: str) -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc>1931</dc></x:xmpmeta>'
    options: dict[str, object] = {"exif": _exif(), "dpi": (300, 300)}
    src = _save(tmp_path, f"src{ext}", Image.fromarray(RGB), **options)
    loaded = load_image(src)
    assert loaded.pixels.shape == (40, 30, 3)  # orientation applied
    meta = ImageMeta(format=loaded.meta.format, exif=loaded.meta.exif, dpi=loaded.meta.dpi, xmp=xmp)
    out = Image.open(save_image(loaded.pixels, tmp_path / f"out{ext}", meta=meta))
    exif = out.getexif()
    assert exif.get(0x010F) == "Kodak" and exif.get(0x0132) == "1931:05:04 12:00:00"
    assert exif.get(0x0112, 1) == 1  # orientation reset: the pixels are already upright
    if ext != ".webp":  # WebP has no resolution field
        assert out.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    stored = out.info.get("xmp") or out.info.get("XML:com.adobe.xmp") or out.tag_v2.get(700)
    assert b"<dc>1931</dc>" in (stored if isinstance(stored, bytes) else stored.encode())


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = _save(tmp_path, "rot.jpg", Image.fromarray(RGB), exif=_exif())
    assert load_image(path).pixels.shape == (40, 30, 3)


def test_broken_exif_block_never_rejects_a_decodable_image(tmp_path: Path) -> None:
    """A Photoshop block where EXIF should be used to fail with 'not a TIFF file'."""
    path = _save(tmp_path, "ps.jpg", Image.fromarray(RGB), progressive=True, dpi=(300, 300),
                 exif=b"Exif\x00\x008BIM\x04\x04photoshop-block")
    loaded = load_image(path)
    assert loaded.pixels.shape == (30, 40, 3) and loaded.meta.exif is None


def test_decoder_warnings_do_not_escape(tmp_path: Path) -> None:
    path = _save(tmp_path, "w.jpg", Image.fromarray(RGB), exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_image(path)
    assert not caught


def test_decoder_warnings_stay_quiet_when_another_thread_swaps_the_filters(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """``warnings.catch_warnings`` swaps one process-wide list: another thread's decode that ends while this
    one runs restores the list from before both. The CLI and the server call ``quiet_decoders`` first."""
    path = _save(tmp_path, "w.jpg", Image.fromarray(RGB), exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12")
    real_open = Image.open

    def after_the_other_decode_ends(*args, **kwargs):  # the interleaving that once let a warning into CI
        other.__exit__(None, None, None)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(media.Image, "open", after_the_other_decode_ends)
    for quiet, leaks in ((False, True), (True, False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if quiet:
                quiet_decoders()
            other = warnings.catch_warnings()  # another thread's decode begins
            other.__enter__()
            warnings.simplefilter("ignore")
            load_image(path)
        assert bool(caught) is leaks


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


def test_fifo_and_unreadable_files_say_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ChromagenError, match="not a regular file"):
        load_image(tmp_path / "pipe.png")
    locked = _save(tmp_path, "locked.png", Image.fromarray(RGB))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    with pytest.raises(ChromagenError, match="permission denied"):
        load_image(locked)


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = _save(tmp_path, "t.jpg", Image.fromarray(smooth_color_image(200, 200)))
    path.write_bytes(path.read_bytes()[:800])
    with pytest.raises(ChromagenError, match="could not decode"):
        load_image(path)


def test_pixel_limit_refuses_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path, "big.png", Image.fromarray(RGB))
    monkeypatch.setattr(media, "MAX_PIXELS", 1000)  # 1200 px
    with pytest.raises(ChromagenError, match="megapixels; the limit"):
        load_image(path)


def test_a_100_megapixel_scan_is_within_the_limit() -> None:
    assert media.MAX_PIXELS >= 100_000_000 and 2 * Image.MAX_IMAGE_PIXELS >= media.MAX_PIXELS


def test_save_is_atomic_and_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    save_image(RGB.astype(np.float32) / 255, target)
    assert np.array_equal(np.asarray(Image.open(target)), RGB)
    with pytest.raises(ChromagenError, match="already exists"):
        save_image(RGB, target)

    def broken_save(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        save_image(RGB, tmp_path / "other.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_temporary_name_fits_when_the_name_takes_250_bytes(tmp_path: Path) -> None:
    target = tmp_path / ("é" * 123 + ".png")  # 246 + 4 = 250 bytes
    assert len(target.name.encode()) == 250
    assert save_image(RGB, target).is_file()


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16_bit_pixels_are_written_16_bit(tmp_path: Path, ext: str) -> None:
    data = (np.random.default_rng(1).random((30, 40, 3)) * 65535).astype(np.uint16)
    alpha = np.full((30, 40), 40000, np.uint16)
    path = save_image(data, tmp_path / f"o{ext}", alpha=alpha, meta=ImageMeta(dpi=(600, 600), icc=True))
    back = _png16(path) if ext == ".png" else tifffile.imread(path)
    assert np.array_equal(back[..., :3], data) and (back[..., 3] == 40000).all()
    assert Image.open(path).info["dpi"] == pytest.approx((600, 600), abs=0.05)
    assert "icc_profile" in Image.open(path).info


def test_16_bit_pixels_in_an_8_bit_format_are_rounded(tmp_path: Path) -> None:
    data = np.full((4, 4, 3), 257 * 200 + 128, np.uint16)
    assert (np.asarray(Image.open(save_image(data, tmp_path / "o.jpg", quality=100))) >= 199).all()


def test_alpha_is_reattached(tmp_path: Path) -> None:
    alpha = np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))
    path = save_image(RGB, tmp_path / "a.png", alpha=alpha)
    assert np.array_equal(np.asarray(Image.open(path))[..., 3], alpha)


@pytest.mark.parametrize(("ext", "mode"), [(".pgm", "L"), (".pbm", "1"), (".jp2", "I;16")])
def test_archive_formats_keep_their_gray_depth(tmp_path: Path, ext: str, mode: str) -> None:
    ramp = np.linspace(0, 65535, 40 * 30).reshape(30, 40).astype(np.uint16)
    image = Image.fromarray(ramp) if mode == "I;16" else Image.fromarray((ramp >> 8).astype(np.uint8)).convert(mode)
    loaded = load_image(_save(tmp_path, f"x{ext}", image))
    assert loaded.pixels.dtype == (np.uint16 if mode == "I;16" else np.uint8)
    assert np.array_equal(loaded.pixels[..., 0], np.asarray(image.convert("L") if mode == "1" else image))


def test_archive_formats_are_written_back_as_png_and_jpeg_names_as_jpeg(tmp_path: Path) -> None:
    assert [output_path_for(Path(f"a{ext}"), tmp_path, has_alpha=False).name
            for ext in (".jp2", ".J2K", ".pgm", ".tga", ".jfif", ".jpe")] == ["a.png"] * 4 + ["a.jfif", "a.jpe"]


def test_pages_are_read_one_by_one_and_written_as_one_tiff(tmp_path: Path) -> None:
    from chromagen.media.image import page_count, save_pages

    path = _save(tmp_path, "two.tif", Image.fromarray(RGB), save_all=True,
                 append_images=[Image.fromarray(RGB[::-1])])
    assert page_count(path) == 2 and page_count(_save(tmp_path, "one.png", Image.fromarray(RGB))) == 1
    assert np.array_equal(load_image(path, page=1).pixels, RGB[::-1])
    out = save_pages(((load_image(path, i).pixels, None) for i in range(2)), tmp_path / "out.tiff")
    assert [np.array_equal(np.asarray(frame), want) for frame, want in
            zip(ImageSequence.Iterator(Image.open(out)), (RGB, RGB[::-1]))] == [True, True]
    with pytest.raises(ChromagenError, match="several pages need a .tif"):
        save_pages([(RGB, None)], tmp_path / "out.png")

    def failing() -> "Iterator[tuple[np.ndarray, None]]":
        yield RGB, None
        raise ChromagenError("page 2 is damaged")

    with pytest.raises(ChromagenError, match="page 2"):
        save_pages(failing(), tmp_path / "half.tif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.png", "out.tiff", "two.tif"]  # nothing half-written


def test_output_path_switches_to_png_for_alpha(tmp_path: Path) -> None:
    assert output_path_for(Path("a.jpg"), tmp_path, has_alpha=True).suffix == ".png"
    assert output_path_for(Path("a.jpg"), tmp_path, has_alpha=False).suffix == ".jpg"
    assert output_path_for(Path("a.gif"), tmp_path, has_alpha=False).suffix == ".png"


@pytest.mark.parametrize("code, full", [("ENOSPC", True), ("EROFS", False), ("EACCES", False),
                                        ("ENAMETOOLONG", False)])
def test_a_disk_that_refuses_the_file_is_a_write_error_naming_the_output(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         code: str, full: bool) -> None:
    import errno

    from chromagen.errors import WriteError

    def refused(target: str, *args: object) -> None:
        Path(target).write_bytes(b"half an image")
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

    monkeypatch.setattr(media, "_encode", refused)
    with pytest.raises(WriteError, match=rf"out.png: cannot write \({os.strerror(getattr(errno, code))}\)") as caught:
        save_image(smooth_color_image(), tmp_path / "out.png")
    assert caught.value.full is full and list(tmp_path.iterdir()) == []  # the half-written file is gone


def test_other_os_errors_while_writing_are_not_disguised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def broken(*args: object) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(media, "_encode", broken)
    with pytest.raises(OSError, match="Invalid argument"):
        save_image(smooth_color_image(), tmp_path / "out.png")


def test_a_folder_where_the_output_goes_is_a_write_error(tmp_path: Path) -> None:
    from chromagen.errors import WriteError

    (tmp_path / "out.png").mkdir()
    with pytest.raises(WriteError, match=r"out.png: cannot write \(Is a directory\)"):
        save_image(smooth_color_image(), tmp_path / "out.png", overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
