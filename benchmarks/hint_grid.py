"""Where does one hint's color go? A grid for docs/hints.md: per photo, the automatic result, then the same
photo with a single hint of each of a few colors at one point (marked), then 10 ground-truth hints and the
truth. A good hint model recolors the region under the point and stops at its boundaries.

    .venv/bin/python benchmarks/hint_grid.py --model hints --photo ../shared/data/bench/kodak24/kodim03.jpg@50%,60% \
        --out docs/hints/grid.png
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from chromagen.color import lab_to_rgb, rgb_to_lab
from chromagen.evaluation.runner import ground_truth_hints, protocol_image
from chromagen.hints import Hint, make_hint
from chromagen.inference import Colorizer
from chromagen.media.image import save_image

COLORS = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 210)}


def row(colorizer: Colorizer, truth: torch.Tensor, point: Hint, index: int) -> list[tuple[str, np.ndarray]]:
    """(label, RGB uint8) tiles for one photo: auto, one hint per color, 10 true hints, truth."""
    lightness = rgb_to_lab(truth[None])[:, :1]

    def render(hints: list[Hint]) -> np.ndarray:
        rgb = lab_to_rgb(colorizer.colorize_lab(lightness, [hints]))[0]
        return (rgb.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)

    tiles = [("no hint", render([]))]
    for name, color in COLORS.items():
        hint = Hint(point.x, point.y, color, point.patch, point.percent)
        tiles.append((f"1 {name} hint", _mark(render([hint]), hint)))
    tiles.append(("10 true hints", render(ground_truth_hints(truth[None], 10, [index], 0, point.patch, colorizer.size)[0])))
    tiles.append(("truth", (truth.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)))
    return tiles


def _mark(pixels: np.ndarray, hint: Hint) -> np.ndarray:
    """A small ring around the hinted pixel, so readers see where the point was."""
    image = Image.fromarray(pixels)
    x, y = hint.position(image.width, image.height)
    ImageDraw.Draw(image).ellipse((x - 5, y - 5, x + 5, y + 5), outline=(255, 255, 255), width=2)
    return np.asarray(image)


def compose(rows: list[list[tuple[str, np.ndarray]]], gap: int = 4, label_h: int = 20) -> np.ndarray:
    """Tiles side by side, rows stacked, each tile labeled above."""
    tile = rows[0][0][1].shape[0]
    cols = len(rows[0])
    canvas = Image.new("RGB", (cols * (tile + gap) + gap, len(rows) * (tile + label_h + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=13)
    for r, tiles in enumerate(rows):
        top = gap + r * (tile + label_h + gap)
        for c, (label, pixels) in enumerate(tiles):
            left = gap + c * (tile + gap)
            draw.text((left + 2, top + 3), label, fill="black", font=font)
            canvas.paste(Image.fromarray(pixels), (left, top + label_h))
    return np.asarray(canvas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="hints")
    parser.add_argument("--photo", action="append", required=True,
                        help="PATH@X,Y: a photo and its hint point (pixels or percent of the 256x256 crop)")
    parser.add_argument("--size", type=int, default=256, help="protocol size (center square crop)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    colorizer = Colorizer.from_pretrained(args.model, device="cpu")
    rows = []
    for index, spec in enumerate(args.photo):
        path, _, where = spec.rpartition("@")
        x, y = where.split(",")
        rows.append(row(colorizer, protocol_image(Path(path), args.size), make_hint(x, y, "gray"), index))
    save_image(compose(rows), args.out, overwrite=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
