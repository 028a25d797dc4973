"""Image files in and out: every odd file becomes a ChromagenError, every write is atomic.

Images are handed around as float32 numpy arrays in [0, 1] (H x W x 3, sRGB); gray inputs are
replicated to three channels, and an alpha channel, if any, travels beside the color data.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from chromagen.errors import ChromagenError

# Extensions we read (case-insensitive); a folder walk picks only these.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
# Pillow format names for the extensions we write; GIF output is not offered (256 colors).
_WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF",
                  ".tiff": "TIFF", ".bmp": "BMP"}
_NO_ALPHA = {"JPEG", "BMP"}


@dataclass
class LoadedImage:
    """A decoded image: sRGB pixels in [0, 1] plus the alpha channel to re-attach on output."""

    rgb: np.ndarray  # float32, H x W x 3, in [0, 1]
    alpha: np.ndarray | None  # uint8, H x W, or None
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), Pillow's order."""
        return self.rgb.shape[1], self.rgb.shape[0]


def is_image_file(path: Path) -> bool:
    """True for files whose extension we read; content is checked only on load."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _to_float_rgb(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode -> (float RGB in [0, 1], optional uint8 alpha), keeping 16-bit gray precision."""
    alpha = None
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = np.asarray(im.getchannel("A"), dtype=np.uint8)
        im = im.convert("RGB" if im.mode in ("RGBA", "RGBa", "PA") else "L")
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float32)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(arr / peak, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2), alpha
    if im.mode == "F":
        gray = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2), alpha
    if im.mode in ("L", "1"):
        gray = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        return np.repeat(gray[..., None], 3, axis=2), alpha
    rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0  # RGB, CMYK, YCbCr, LAB, HSV...
    return rgb, alpha


def load_image(path: str | Path) -> LoadedImage:
    """Decode an image file (first frame of animations), honoring EXIF orientation."""
    path = Path(path)
    if not path.is_file():
        raise ChromagenError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ChromagenError(f"{path}: empty file (0 bytes)")
    try:
        with Image.open(path) as im:
            im.seek(0)
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb, alpha = _to_float_rgb(im)
    except Image.DecompressionBombError as exc:
        raise ChromagenError(
            f"{path}: image too large to open safely ({exc}); Pillow's decompression-bomb limit "
            f"is {Image.MAX_IMAGE_PIXELS} pixels"
        ) from exc
    except UnidentifiedImageError as exc:
        raise ChromagenError(f"{path}: not a readable image (unknown or corrupt format)") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ChromagenError(f"{path}: could not decode image ({exc})") from exc
    return LoadedImage(rgb=rgb, alpha=alpha, path=path)


def output_path_for(src: Path, out_dir: Path, has_alpha: bool) -> Path:
    """Where a colorized copy of ``src`` goes: same name, a format that can hold what we write."""
    ext = src.suffix.lower()
    if ext not in _WRITE_FORMATS or (has_alpha and _WRITE_FORMATS[ext] in _NO_ALPHA):
        ext = ".png"
    return out_dir / (src.stem + ext)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> uint8 with rounding (not truncation, which darkens by half a level)."""
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _umask() -> int:
    """The process umask (reading it requires setting it, so restore at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_image(
    rgb: np.ndarray, path: str | Path, alpha: np.ndarray | None = None, overwrite: bool = False, quality: int = 95
) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves a partial image behind."""
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ChromagenError(f"{path}: cannot write this extension; use one of {sorted(_WRITE_FORMATS)}")
    if path.exists() and not overwrite:
        raise ChromagenError(f"{path}: already exists (use --overwrite to replace it)")
    pixels = to_uint8(rgb) if rgb.dtype != np.uint8 else rgb
    im = Image.fromarray(pixels, "RGB")
    if alpha is not None and fmt not in _NO_ALPHA:
        im.putalpha(Image.fromarray(alpha, "L"))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
            im.save(fh, format=fmt, **options)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
