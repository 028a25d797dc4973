"""Animated GIF, APNG and animated WebP in and out: every frame, its duration, the loop count, transparency.

Pillow composites each frame onto the canvas (disposal and blending applied), so frames come out whole and
go back whole. GIF output needs a palette: one adaptive palette shared by all frames (no shimmering between
frames, the default) or one per frame (more colors per frame), dithered or not.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from chromagen.errors import ChromagenError
from chromagen.media.image import MAX_PIXELS, _one_line
from chromagen.media.files import atomic_path

# Pillow format -> the extension its animations are written with
FORMATS = {"GIF": ".gif", "PNG": ".png", "WEBP": ".webp"}
FORMAT_NAMES = {"gif": "GIF", "png": "PNG", "apng": "PNG", "webp": "WEBP"}
PALETTES = ("shared", "frame")
TRANSPARENT = 255  # GIF palette index kept for transparent pixels
_PALETTE_SAMPLE = 512 * 512  # pixels drawn from all frames to build the shared palette


@dataclass
class Animation:
    """Whole RGB frames (uint8, H x W x 3), their alpha (or None), durations in ms and the loop count."""

    frames: list[np.ndarray]
    alpha: list[np.ndarray] | None  # one H x W uint8 mask per frame, None when fully opaque
    durations: list[int]
    loop: int | None  # 0 = forever, else as the source format counts it; None = no loop (GIF: plays once)
    format: str  # Pillow format name of the source


def is_animation(path: Path) -> bool:
    """True for a GIF, PNG or WebP file with more than one frame (content, not just the extension)."""
    if path.suffix.lower() not in {".gif", ".png", ".apng", ".webp"}:
        return False
    try:
        with Image.open(path) as im:
            return im.format in FORMATS and getattr(im, "n_frames", 1) > 1
    except Exception:  # noqa: BLE001 - hostile files raise anything; the image loader says what is wrong
        return False


def load_animation(path: Path) -> Animation:
    """Decode every frame of an animation; any decoding problem is one ChromagenError."""
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ChromagenError(f"{path}: {im.width}x{im.height} frames are over the "
                                     f"{MAX_PIXELS / 1e6:.0f}-megapixel limit")
            fmt = im.format
            loop = im.info.get("loop")
            frames, alphas, durations = [], [], []
            for frame in ImageSequence.Iterator(im):
                rgba = np.asarray(frame.convert("RGBA"))
                frames.append(np.ascontiguousarray(rgba[..., :3]))
                alphas.append(rgba[..., 3])
                durations.append(int(frame.info.get("duration", 0)))
    except ChromagenError:
        raise
    except MemoryError:
        raise ChromagenError(f"{path}: not enough memory to hold every frame of this animation") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise anything on hostile input
        raise ChromagenError(f"{path}: cannot read animation ({_one_line(exc)})") from None
    opaque = all(bool((a == 255).all()) for a in alphas)
    return Animation(frames, None if opaque else alphas, durations, loop, fmt)


def format_for(path: Path) -> str:
    """The Pillow format an output path's extension asks for."""
    name = FORMAT_NAMES.get(path.suffix.lower().lstrip("."))
    if name is None:
        raise ChromagenError(f"{path}: animations can be written as .gif, .png (APNG) or .webp")
    return name


def output_path_for(target: Path, requested: str | None) -> Path:
    """Same name; the extension of ``--format`` (gif, png/apng, webp) when one is asked for."""
    if requested is None:
        return target
    name = FORMAT_NAMES.get(requested.lower())
    if name is None:
        raise ChromagenError(f"--format {requested!r}: animations can be written as gif, png (APNG) or webp")
    return target.with_suffix(FORMATS[name])


def check_palette(palette: str) -> None:
    if palette not in PALETTES:
        raise ChromagenError(f"--palette {palette!r}: use one of {', '.join(PALETTES)}")


def _shared_palette(anim: Animation, colors: int) -> Image.Image:
    """One adaptive palette from pixels sampled evenly across all frames (opaque pixels only)."""
    step = max(1, int(np.ceil(sum(f.shape[0] * f.shape[1] for f in anim.frames) / _PALETTE_SAMPLE)))
    pixels = []
    for i, frame in enumerate(anim.frames):
        flat = frame.reshape(-1, 3)
        if anim.alpha is not None:
            flat = flat[anim.alpha[i].reshape(-1) >= 128]
        pixels.append(flat[::step])
    sample = np.concatenate(pixels) if pixels else np.zeros((1, 3), np.uint8)
    sample = sample if len(sample) else np.zeros((1, 3), np.uint8)
    return Image.fromarray(sample[None]).quantize(colors, method=Image.Quantize.MEDIANCUT)


def _gif_frames(anim: Animation, palette: str, dither: bool) -> list[Image.Image]:
    """Palette frames; transparent pixels (alpha < 128) take index ``TRANSPARENT``."""
    colors = 255 if anim.alpha is not None else 256
    shared = _shared_palette(anim, colors) if palette == "shared" else None
    mode = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
    frames = []
    for i, rgb in enumerate(anim.frames):
        im = Image.fromarray(rgb)
        pal = shared if shared is not None else im.quantize(colors, method=Image.Quantize.MEDIANCUT)
        indexed = im.quantize(palette=pal, dither=mode)
        if anim.alpha is not None:
            data = np.asarray(indexed).copy()
            data[anim.alpha[i] < 128] = TRANSPARENT
            indexed = Image.frombytes("P", indexed.size, data.tobytes())
            indexed.putpalette(pal.getpalette() or [])
            indexed.info["transparency"] = TRANSPARENT
        frames.append(indexed)
    return frames


def save_animation(anim: Animation, frames: list[np.ndarray], target: Path, palette: str = "shared",
                   dither: bool = True) -> Path:
    """Write colorized ``frames`` with ``anim``'s timing, loop and transparency, atomically.

    The format follows ``target``'s extension (.gif, .png as APNG, .webp lossless).
    """
    check_palette(palette)
    fmt = format_for(target)
    colored = Animation(frames, anim.alpha, anim.durations, anim.loop, anim.format)
    if fmt == "GIF":
        images = _gif_frames(colored, palette, dither)
        options = {"disposal": 2 if anim.alpha is not None else 1, "optimize": False}
    else:
        images = [Image.fromarray(np.dstack([f, a]) if a is not None else f)
                  for f, a in zip(frames, anim.alpha or [None] * len(frames))]
        options = {"lossless": True} if fmt == "WEBP" else {}
    if anim.loop is not None:
        options["loop"] = anim.loop
    elif fmt != "GIF":
        options["loop"] = 1  # APNG and WebP count plays: 1 = once, as the source played
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        images[0].save(tmp, format=fmt, save_all=True, append_images=images[1:], duration=anim.durations,
                       **options)
    return target
