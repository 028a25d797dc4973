"""Still images in and out: every odd file becomes one ChromagenError, every write is atomic.

Pixels stay at their native depth (uint8 or uint16, H x W x 3 sRGB) so a 100-megapixel scan costs 3 or
6 bytes a pixel here, never a float copy. Color-managed inputs are converted to sRGB with Pillow's ImageCms;
EXIF (orientation reset), DPI, XMP and an sRGB ICC profile are written back. A broken metadata block
never rejects a decodable image: that block is dropped. Decoder warnings are swallowed: the pixels
either decode (and are used) or raise (and become the error line).
"""

import functools
import io
import os
import stat
import struct
import warnings
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from chromagen.errors import ChromagenError, writing
from chromagen.media.files import atomic_path

# Extensions we read (case-insensitive); the walker picks only these for the "image" kind. Besides the
# common ones, formats of photo archives: JPEG 2000 (.jp2: the Library of Congress' master scans), Netpbm and
# Targa, written back as PNG (``output_path_for``).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
                              ".jp2", ".j2k", ".jpx", ".jpf", ".pbm", ".pgm", ".ppm", ".pnm", ".tga"})
# Photo formats we do not read (Pillow has no decoder for them): said per file, never skipped without a word.
UNREAD_EXTENSIONS = {**dict.fromkeys((".heic", ".heif"), "HEIC/HEIF"),
                     **dict.fromkeys((".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".srw", ".pef"),
                                     "camera raw")}
# Pillow format names for the extensions we write; GIF output is not offered (256 colors).
_WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG", ".webp": "WEBP",
                  ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
_NO_ALPHA = {"JPEG", "BMP"}
_SIXTEEN_BIT = {"PNG", "TIFF"}
# Largest image we decode: a 100-megapixel scan fits with room to spare; a tiny file declaring more
# pixels than this is refused before decoding (the full-resolution path costs tens of bytes a pixel).
# Pillow's own guard stays at its default: it only warns (silenced while decoding) up to twice its limit.
MAX_PIXELS = 150_000_000
# EXIF tags worth carrying over from IFD0 (camera, date, author); strip offsets and the like are not.
_EXIF_KEEP = (0x010E, 0x010F, 0x0110, 0x0132, 0x013B, 0x8298)
_EXIF_SUB_IFDS = (0x8769, 0x8825)  # Exif and GPS sub-directories
_ORIENTATION = 0x0112
_TRANSPOSE = {2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
              4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
              6: [Image.Transpose.ROTATE_270], 7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90]}


@dataclass
class ImageMeta:
    """What a source file says about itself that an output should keep."""

    format: str | None = None  # Pillow's name for the source format ("JPEG", "PNG"...)
    exif: bytes | None = None  # EXIF block, orientation reset (pixels are already upright)
    dpi: tuple[float, float] | None = None
    xmp: bytes | None = None
    icc: bool = False  # the source carried an ICC profile (pixels were converted to sRGB; outputs say sRGB)


@dataclass
class LoadedImage:
    """A decoded image: sRGB pixels at native depth plus the alpha channel and metadata to write back."""

    pixels: np.ndarray  # H x W x 3, uint8 or uint16
    alpha: np.ndarray | None = None  # H x W, same dtype as pixels
    path: Path | None = None
    meta: ImageMeta | None = None

    @property
    def rgb(self) -> np.ndarray:
        """float32 H x W x 3 in [0, 1]: 12 bytes a pixel, for evaluation and small images only."""
        return self.pixels.astype(np.float32) / np.float32(np.iinfo(self.pixels.dtype).max)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), Pillow's order."""
        return self.pixels.shape[1], self.pixels.shape[0]


def is_image_file(path: Path) -> bool:
    """True for files whose extension we read; content is checked only on load."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _gray16(im: Image.Image) -> np.ndarray:
    """Single-channel 16/32-bit integer or float image -> uint16 H x W, each source range read right.

    Floats: [0, 1] (the usual convention) or [0, 255] (8-bit data stored as float) or [0, 65535]. Signed
    integers: negatives are below black, 0..32767 spans black to white. Wider integers keep their top 16 bits.
    """
    arr = np.asarray(im)
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)  # one writable copy
        top = float(arr.max(initial=0.0))
        peak = 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else 65535.0
        out = np.empty(arr.shape, np.uint16)
        np.multiply(np.clip(arr, 0.0, peak, out=arr), 65535.0 / peak, out=arr)
        np.rint(arr, out=arr)
        out[...] = arr
        return out
    if arr.dtype.kind == "u" and arr.itemsize == 2:
        return arr.astype(np.uint16, copy=False)  # native byte order
    signed = getattr(im, "tag_v2", {}).get(339) == 2 or arr.min(initial=0) < 0  # TIFF SampleFormat 2
    if signed and arr.max(initial=0) <= 32767:
        return (np.clip(arr, 0, 32767).astype(np.uint32) * 65535 // 32767).astype(np.uint16)
    if arr.max(initial=0) <= 65535:
        return np.clip(arr, 0, 65535).astype(np.uint16)
    return (np.clip(arr, 0, None).astype(np.uint64) >> 16).astype(np.uint16)  # 32-bit data: its top bits


def _to_srgb(im: Image.Image) -> tuple[Image.Image, bool]:
    """Convert through the embedded ICC profile to sRGB; a broken or odd profile is ignored (read as sRGB)."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L", "LA"):
        return im, False
    from PIL import ImageCms  # only color-managed files pay for its import

    if "transparency" in im.info and im.mode in ("RGB", "L"):  # the color key names source values: apply it first
        im = im.convert("RGBA" if im.mode == "RGB" else "LA")
    alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
    base = im.convert("RGB" if im.mode == "RGBA" else "L") if alpha is not None else im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(base, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im, False
    if converted is None:
        return im, False
    if alpha is not None:
        converted.putalpha(alpha)
    return converted, True


def _pixels(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode -> (H x W x 3 uint8 or uint16, alpha of the same dtype or None)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        gray = _gray16(im)
        alpha = None
        if "transparency" in im.info and isinstance(im.info["transparency"], int):  # tRNS color key
            alpha = np.where(np.asarray(im) == im.info["transparency"], 0, 65535).astype(np.uint16)
        return np.repeat(gray[..., None], 3, axis=2), alpha
    if "transparency" in im.info and im.mode in ("1", "L", "RGB", "P"):
        im = im.convert("RGBA")  # palette and tRNS color-key transparency become a real alpha channel
    elif im.mode == "P":
        im = im.convert("RGB")
    alpha = None
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = np.asarray(im.getchannel("A"), dtype=np.uint8)
        im = im.convert("RGB" if im.mode in ("RGBA", "RGBa", "PA") else "L")
    if im.mode in ("L", "1"):
        return _banded_array(im.convert("L") if im.mode == "1" else im), alpha
    return _banded_array(im if im.mode == "RGB" else im.convert("RGB")), alpha  # CMYK, YCbCr, LAB, HSV...


def _banded_array(im: Image.Image) -> np.ndarray:
    """An L or RGB image as H x W x 3 uint8, copied band by band.

    ``np.asarray(im)`` goes through ``tobytes``, which holds the encoded chunks and their join at once
    (6 bytes a pixel beside Pillow's own 4); bands keep the peak at the output array plus one band.
    """
    width, height = im.size
    out = np.empty((height, width, 3), np.uint8)
    band = max(1, 4_000_000 // max(1, width))
    for top in range(0, height, band):
        rows = np.asarray(im.crop((0, top, width, min(height, top + band))))
        out[top:top + rows.shape[0]] = rows[..., None] if rows.ndim == 2 else rows
    return out


def _color16_tiff(path: Path, im: Image.Image, page: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """16-bit RGB(A) TIFF pixels of a page through tifffile (no ICC conversion or rotation at this depth), else
    None."""
    bits = getattr(im, "tag_v2", {}).get(258) if im.format == "TIFF" and im.mode in ("RGB", "RGBA") else None
    if not bits or max(bits) != 16:
        return None
    import tifffile

    arr = tifffile.imread(path, key=page)
    if arr.dtype != np.uint16 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        return None
    return arr[..., :3], (arr[..., 3].copy() if arr.shape[2] == 4 else None)


def _color16_png(path: Path, im: Image.Image) -> tuple[np.ndarray, np.ndarray | None] | None:
    """16-bit RGB(A) PNG pixels through pypng, row by row (no ICC conversion or rotation at this depth), else
    None. Pillow reads these at 8 bits; pypng's direct mode also turns a tRNS color key into alpha."""
    if im.format != "PNG" or im.mode not in ("RGB", "RGBA"):
        return None
    with open(path, "rb") as fh:
        depth, color_type = fh.read(26)[24:26]  # IHDR: signature, length, type, width, height, then these
    if depth != 16 or color_type not in (2, 6):
        return None
    import png

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    out = np.empty((height, width, info["planes"]), np.uint16)
    for y, row in enumerate(rows):
        out[y] = np.asarray(row, np.uint16).reshape(width, -1)
    return out[..., :3], (out[..., 3].copy() if info["planes"] == 4 else None)


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - any broken EXIF block means "no orientation"
        return 1


def _exif_bytes(im: Image.Image) -> bytes | None:
    """The EXIF tags worth keeping, re-encoded with orientation 1; None when absent or unreadable."""
    try:
        source = im.getexif()
        if not len(source):
            return None
        kept = Image.Exif()
        for tag in _EXIF_KEEP:
            if tag in source:
                kept[tag] = source[tag]
        for tag in _EXIF_SUB_IFDS:
            ifd = source.get_ifd(tag)
            if ifd:
                kept.get_ifd(tag).update(ifd)
        if _ORIENTATION in source:
            kept[_ORIENTATION] = 1
        return kept.tobytes() if len(kept) or any(kept.get_ifd(t) for t in _EXIF_SUB_IFDS) else None
    except Exception:  # noqa: BLE001 - a broken metadata block must never reject a decodable image
        return None


def _dpi(im: Image.Image) -> tuple[float, float] | None:
    try:
        x, y = (float(v) for v in im.info["dpi"])
    except (KeyError, TypeError, ValueError):
        return None
    return (x, y) if 0 < x < 1e6 and 0 < y < 1e6 else None


def _xmp(im: Image.Image) -> bytes | None:
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return xmp if isinstance(xmp, bytes) and xmp else None


def _open_checked(path: Path) -> None:
    """Say precisely why a path is not a readable file (before Pillow turns it into a vaguer message)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ChromagenError(f"{path}: no such file") from None
    except OSError as exc:
        raise ChromagenError(f"{path}: cannot read ({exc.strerror or exc})") from None

    if stat.S_ISDIR(st.st_mode):
        raise ChromagenError(f"{path}: is a folder, not an image")
    if not stat.S_ISREG(st.st_mode):
        raise ChromagenError(f"{path}: not a regular file (a pipe, socket or device); skipped")
    if st.st_size == 0:
        raise ChromagenError(f"{path}: empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise ChromagenError(f"{path}: permission denied")


@functools.cache
def _silence_libtiff() -> None:
    """libtiff prints its warnings and errors straight to stderr ("TIFFReadDirectory: ..."), around Python.

    Pillow's wheels bundle their own libtiff; giving it NULL handlers silences it process-wide. The decode
    result is unchanged: a failing read still fails, and becomes the file's one error line.
    """
    import ctypes
    import PIL

    root = Path(PIL.__file__).resolve().parent
    for lib in [*root.parent.glob("pillow.libs/libtiff*"), *root.glob(".dylibs/libtiff*")]:
        try:
            libtiff = ctypes.CDLL(str(lib))
        except OSError:
            continue
        libtiff.TIFFSetWarningHandler(None)
        libtiff.TIFFSetErrorHandler(None)


def page_count(path: Path) -> int:
    """How many pages a multi-page TIFF holds (scans of a print's front and back...); 1 for anything else,
    including files that do not open (their load says why)."""
    if path.suffix.lower() not in (".tif", ".tiff"):
        return 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return int(getattr(im, "n_frames", 1)) if im.format == "TIFF" else 1
    except Exception:  # noqa: BLE001 - an unreadable file is one page, reported by load_image
        return 1


def load_image(path: str | Path, page: int = 0) -> LoadedImage:
    """Decode an image file (first frame of animations, or ``page`` of a TIFF) to upright sRGB at native depth."""
    path = Path(path)
    _open_checked(path)
    _silence_libtiff()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow and libtiff chatter; decodes either succeed or raise
            with Image.open(path) as im:
                im.seek(page)
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise ChromagenError(f"{path}: {width}x{height} is {width * height / 1e6:.0f} megapixels; "
                                         f"the limit is {MAX_PIXELS / 1e6:.0f}")
                im.load()
                meta = ImageMeta(format=im.format, exif=_exif_bytes(im), dpi=_dpi(im), xmp=_xmp(im))
                orientation = _orientation(im)
                sixteen = _color16_tiff(path, im, page) or _color16_png(path, im)
                if sixteen is not None:  # Pillow reads 16-bit color TIFF and PNG at 8 bits
                    pixels, alpha = sixteen
                else:
                    im, meta.icc = _to_srgb(im)
                    for method in _TRANSPOSE.get(orientation, []):
                        im = im.transpose(method)
                    pixels, alpha = _pixels(im)
    except ChromagenError:
        raise
    except Image.DecompressionBombError as exc:
        raise ChromagenError(f"{path}: image too large to open safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ChromagenError(f"{path}: not a readable image (unknown or corrupt format)") from exc
    except PermissionError as exc:
        raise ChromagenError(f"{path}: permission denied") from exc
    except MemoryError as exc:
        raise ChromagenError(f"{path}: not enough memory to decode this image") from exc
    except Exception as exc:  # noqa: BLE001 - decoders raise anything on hostile input (struct.error, TypeError...)
        raise ChromagenError(f"{path}: could not decode image ({_one_line(exc)})") from exc
    return LoadedImage(pixels=np.ascontiguousarray(pixels), alpha=alpha, path=path, meta=meta)


def _one_line(exc: BaseException) -> str:
    """An exception as one short line (decoder messages may hold newlines or kilobytes of bytes)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def output_path_for(src: Path, out_dir: Path, has_alpha: bool) -> Path:
    """Where a colorized copy of ``src`` goes: same name, a format that can hold what we write."""
    ext = src.suffix.lower()
    if ext not in _WRITE_FORMATS or (has_alpha and _WRITE_FORMATS[ext] in _NO_ALPHA):
        ext = ".png"
    return out_dir / (src.stem + ext)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> uint8 with rounding (not truncation, which darkens by half a level)."""
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def to_depth(pixels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """uint8, uint16 or float [0, 1] pixels -> ``dtype`` (uint8 or uint16), rounding."""
    dtype = np.dtype(dtype)
    if pixels.dtype == dtype:
        return pixels
    if pixels.dtype == np.uint16 and dtype == np.uint8:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if pixels.dtype == np.uint8 and dtype == np.uint16:
        return pixels.astype(np.uint16) * 257
    peak = np.iinfo(dtype).max
    return np.clip(np.rint(pixels * float(peak)), 0, peak).astype(dtype)


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif_ifd0(exif: bytes) -> dict[int, object]:
    """The kept IFD0 tags of an EXIF block, for TIFF files (where EXIF tags live in the image directory)."""
    tags = Image.Exif()
    tags.load(exif)
    return {tag: tags[tag] for tag in _EXIF_KEEP if tag in tags}


def _pillow_options(fmt: str, meta: ImageMeta | None, quality: int) -> dict[str, object]:
    """Save options that carry quality and metadata, for the formats that hold them."""
    options: dict[str, object] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if meta is None or fmt == "BMP":
        return options
    if meta.icc:
        options["icc_profile"] = _srgb_icc()
    if meta.dpi:
        options["dpi"] = meta.dpi
    if meta.exif and fmt != "TIFF":
        options["exif"] = meta.exif
    tiff_tags = _exif_ifd0(meta.exif) if meta.exif and fmt == "TIFF" else {}  # TIFF: EXIF tags live in its IFD
    if meta.xmp and fmt in ("JPEG", "WEBP"):
        options["xmp"] = meta.xmp
    if meta.xmp and fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", meta.xmp.decode("utf-8", "replace"))
        options["pnginfo"] = info
    if meta.xmp and fmt == "TIFF":
        tiff_tags[700] = meta.xmp
    if tiff_tags:
        options["tiffinfo"] = tiff_tags
    return options


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_png16(target: str, pixels: np.ndarray, alpha: np.ndarray | None,
                 meta: ImageMeta | None) -> None:
    """16-bit RGB(A) PNG (Pillow writes 16-bit gray only), compressed band by band in bounded memory."""
    with open(target, "wb") as fh:
        _png16_chunks(fh, pixels, alpha, meta)


def _png16_chunks(fh: io.BufferedIOBase, pixels: np.ndarray, alpha: np.ndarray | None,
                  meta: ImageMeta | None) -> None:
    height, width = pixels.shape[:2]
    channels = 3 if alpha is None else 4
    fh.write(b"\x89PNG\r\n\x1a\n")
    fh.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2 if alpha is None else 6, 0, 0, 0)))
    if meta is not None and meta.icc:
        fh.write(_png_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(_srgb_icc())))
    if meta is not None and meta.dpi:
        fh.write(_png_chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in meta.dpi), 1)))
    if meta is not None and meta.exif:
        fh.write(_png_chunk(b"eXIf", meta.exif[6:] if meta.exif.startswith(b"Exif\x00\x00") else meta.exif))
    if meta is not None and meta.xmp:
        fh.write(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + meta.xmp))
    compressor = zlib.compressobj(6)
    band = max(1, 4_000_000 // (width * channels * 2))
    data = bytearray()
    for top in range(0, height, band):
        rows = pixels[top:top + band]
        if alpha is not None:
            rows = np.dstack([rows, alpha[top:top + band]])
        raw = np.zeros((rows.shape[0], 1 + width * channels * 2), np.uint8)  # filter byte 0 + big-endian samples
        raw[:, 1:] = rows.astype(">u2").reshape(rows.shape[0], -1).view(np.uint8)
        data += compressor.compress(raw.tobytes())
        if len(data) > 1 << 20:
            fh.write(_png_chunk(b"IDAT", bytes(data)))
            data.clear()
    data += compressor.flush()
    fh.write(_png_chunk(b"IDAT", bytes(data)))
    fh.write(_png_chunk(b"IEND", b""))


def _write_tiff_pages(target: str, pages: Iterable[tuple[np.ndarray, np.ndarray | None]],
                      meta: ImageMeta | None) -> None:
    """RGB(A) TIFF pages (8 or 16 bits each) through tifffile (Pillow has no 48-bit mode), one page in memory
    at a time, each with the ICC, DPI and XMP."""
    import tifffile

    tags = _exif_ifd0(meta.exif) if meta is not None and meta.exif else {}
    description = tags.pop(0x010E, None)
    extratags = [(tag, "s", 0, str(value), True) for tag, value in tags.items() if isinstance(value, str)]
    if meta is not None and meta.xmp:
        extratags.append((700, "B", len(meta.xmp), meta.xmp, True))
    icc = _srgb_icc() if meta is not None and meta.icc else None
    with tifffile.TiffWriter(target) as tiff:
        for pixels, alpha in pages:
            data = pixels if alpha is None else np.dstack([pixels, to_depth(alpha, pixels.dtype)])
            tiff.write(data, photometric="rgb", compression="zlib", metadata=None,
                       description=description if isinstance(description, str) else None,
                       extrasamples=[2] if alpha is not None else None,
                       resolution=meta.dpi if meta is not None and meta.dpi else None,
                       resolutionunit="INCH" if meta is not None and meta.dpi else None,
                       iccprofile=icc, extratags=extratags)


def _encode(target: str, pixels: np.ndarray, fmt: str, alpha: np.ndarray | None,
            meta: ImageMeta | None, quality: int) -> None:
    """Write one image in ``fmt``: 16-bit where the format holds it, else 8-bit through Pillow."""
    if pixels.dtype == np.uint16 and fmt in _SIXTEEN_BIT:
        alpha16 = None if alpha is None else to_depth(alpha, np.uint16)
        if fmt == "PNG":
            _write_png16(target, pixels, alpha16, meta)
        else:
            _write_tiff_pages(target, [(pixels, alpha16)], meta)
        return
    im = Image.fromarray(to_depth(pixels, np.uint8), "RGB")
    if alpha is not None and fmt not in _NO_ALPHA:
        im.putalpha(Image.fromarray(to_depth(alpha, np.uint8), "L"))
    im.save(target, format=fmt, **_pillow_options(fmt, meta, quality))


def _write_atomically(path: Path, overwrite: bool, write: Callable[[str], None]) -> Path:
    """``write`` a temporary file beside ``path``, then rename it into place, so a crash or a signal never
    leaves a partial image behind (and an existing file is replaced only with ``overwrite``)."""
    if path.exists() and not overwrite:
        raise ChromagenError(f"{path}: already exists (use --overwrite to replace it)")
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        write(str(tmp))
    return path


def save_image(pixels: np.ndarray, path: str | Path, alpha: np.ndarray | None = None, overwrite: bool = False,
               quality: int = 95, meta: ImageMeta | None = None) -> Path:
    """Write one image atomically.

    ``pixels``: H x W x 3 uint8, uint16 (16-bit PNG/TIFF; other formats get 8 bits) or float in [0, 1].
    """
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ChromagenError(f"{path}: cannot write this extension; use one of {sorted(_WRITE_FORMATS)}")
    if pixels.dtype.kind == "f":
        pixels = to_depth(pixels, np.uint8)
    return _write_atomically(path, overwrite, lambda tmp: _encode(tmp, pixels, fmt, alpha, meta, quality))


def save_pages(pages: Iterable[tuple[np.ndarray, np.ndarray | None]], path: str | Path, overwrite: bool = False,
               meta: ImageMeta | None = None) -> Path:
    """Write a multi-page TIFF atomically, page by page as ``pages`` yields them ((pixels, alpha), uint8 or
    uint16 each): a colorized copy of a multi-page scan keeps every page."""
    path = Path(path)
    if _WRITE_FORMATS.get(path.suffix.lower()) != "TIFF":
        raise ChromagenError(f"{path}: several pages need a .tif or .tiff file")
    return _write_atomically(path, overwrite, lambda tmp: _write_tiff_pages(tmp, pages, meta))
