"""Animated GIF, APNG and WebP: frames, durations, loop and transparency survive colorization."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chromagen.errors import ChromagenError
from chromagen.media.animation import is_animation, load_animation
from tests.clips import ClipSpec, Shot, render_frames

SPEC = ClipSpec(width=64, height=40, shots=(Shot("astronaut", 4, (0.0, 0.5, 0.4), (1.0, 0.5, 0.4)),
                                            Shot("coffee", 3, (0.5, 0.5, 0.0), (0.5, 0.4, 0.6))))
DURATIONS = [40, 50, 60, 70, 80, 90, 100]


@pytest.fixture(scope="module")
def colorizer(random_model_file: Path):
    from chromagen.inference import Colorizer

    return Colorizer.from_pretrained(str(random_model_file), device="cpu", size=32)


def frames(alpha: bool = False) -> list[Image.Image]:
    images = [Image.fromarray(f) for f in render_frames(SPEC)]
    if alpha:
        mask = Image.fromarray(((np.arange(64)[None].repeat(40, 0) > 20) * 255).astype(np.uint8))
        images = [im.convert("RGBA") for im in images]
        for im in images:
            im.putalpha(mask)
    return images


def write(path: Path, images: list[Image.Image], **options) -> Path:
    images[0].save(path, save_all=True, append_images=images[1:], duration=DURATIONS, **options)
    return path


def colorize(src: Path, dst: Path, colorizer, **options) -> Path:
    from chromagen.sequence import colorize_animation

    return colorize_animation(src, dst, colorizer, **options)


@pytest.mark.parametrize("palette", ["shared", "frame"])
@pytest.mark.parametrize("dither", [True, False])
def test_gif_keeps_frames_durations_loop(tmp_path: Path, colorizer, palette: str, dither: bool) -> None:
    src = write(tmp_path / "in.gif", frames(), loop=3)
    out = load_animation(colorize(src, tmp_path / "out.gif", colorizer, palette=palette, dither=dither))
    assert (len(out.frames), out.durations, out.loop) == (7, DURATIONS, 3)


def test_gif_without_loop_still_plays_once(tmp_path: Path, colorizer) -> None:
    src = write(tmp_path / "in.gif", frames())
    assert load_animation(colorize(src, tmp_path / "out.gif", colorizer)).loop is None


def test_gif_output_is_colored(tmp_path: Path, colorizer) -> None:
    gray = [im.convert("L").convert("RGB") for im in frames()]
    out = load_animation(colorize(write(tmp_path / "in.gif", gray), tmp_path / "out.gif", colorizer))
    chroma = np.abs(np.diff(np.stack(out.frames).astype(int), axis=-1)).mean()
    assert chroma > 1.0


def test_gif_transparency_kept(tmp_path: Path, colorizer) -> None:
    src = write(tmp_path / "in.gif", frames(alpha=True), loop=0, disposal=2)
    out = load_animation(colorize(src, tmp_path / "out.gif", colorizer))
    source = load_animation(src)
    assert out.alpha is not None and all(np.array_equal(a, b) for a, b in zip(out.alpha, source.alpha))


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_apng_and_webp_keep_everything(tmp_path: Path, colorizer, suffix: str) -> None:
    src = write(tmp_path / f"in{suffix}", frames(alpha=True), loop=2)
    out = load_animation(colorize(src, tmp_path / f"out{suffix}", colorizer))
    source = load_animation(src)
    assert (out.format, len(out.frames), out.durations, out.loop) == (source.format, 7, DURATIONS, 2)
    assert all(np.array_equal(a, b) for a, b in zip(out.alpha, source.alpha))


def test_other_format_on_request(tmp_path: Path, colorizer) -> None:
    from chromagen.media.animation import output_path_for

    src = write(tmp_path / "in.gif", frames(), loop=0)
    out = load_animation(colorize(src, output_path_for(tmp_path / "out.gif", "webp"), colorizer))
    assert (out.format, len(out.frames), out.durations, out.loop) == ("WEBP", 7, DURATIONS, 0)


def test_unknown_format_refused(tmp_path: Path) -> None:
    from chromagen.media.animation import output_path_for

    with pytest.raises(ChromagenError, match="--format 'bmp'"):
        output_path_for(tmp_path / "a.gif", "bmp")


def test_still_gif_is_not_an_animation(tmp_path: Path) -> None:
    still = tmp_path / "still.gif"
    frames()[0].save(still)
    assert not is_animation(still) and is_animation(write(tmp_path / "anim.gif", frames()))
