"""How colorful each model makes genuine historical photos (no ground truth): median Hasler colorfulness of
its outputs, and a contact sheet of every photo so anyone can judge whether the colors are believable.

Each photo goes through the same ``Colorizer`` as ``chromagen colorize`` (full resolution). Colorfulness
(Hasler & Suesstrunk) of 15 reads "slightly colorful" (sepia), 33 "moderately", 45 "averagely colorful".

    .venv/bin/python benchmarks/legacy_colorfulness.py --model faithful --model default \\
        --data ../shared/data/legacy --sheet docs/vivid/legacy-sheet.jpg --json docs/vivid/legacy.json
"""

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from chromagen.evaluation.metrics import colorfulness
from chromagen.evaluation.runner import list_images
from chromagen.inference import Colorizer
from chromagen.media.image import load_image, to_depth



def hasler(rgb8: np.ndarray) -> float:
    """Colorfulness of an 8-bit RGB (H, W, 3) array."""
    return float(colorfulness(torch.from_numpy(np.ascontiguousarray(rgb8)).permute(2, 0, 1)[None].float() / 255.0)[0])


def tile(rgb8: np.ndarray, label: str, side: int) -> Image.Image:
    """The photo fitted into a ``side`` x ``side`` square on white, with a caption."""
    image = Image.fromarray(rgb8)
    image.thumbnail((side, side - 14), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (side, side), "white")
    canvas.paste(image, ((side - image.width) // 2, 0))
    ImageDraw.Draw(canvas).text((4, side - 13), label, fill="black")
    return canvas


def sheet(rows: list[list[Image.Image]], path: Path) -> None:
    """Rows of equal square tiles into one JPEG."""
    side = rows[0][0].width
    out = Image.new("RGB", (max(len(r) for r in rows) * side, len(rows) * side), "white")
    for y, row in enumerate(rows):
        for x, t in enumerate(row):
            out.paste(t, (x * side, y * side))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, quality=80, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="Bundled name or weights file (repeatable).")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/legacy"))
    parser.add_argument("--limit", type=int)
    parser.add_argument("--sheet", type=Path, help="Contact sheet: per photo, the input then each model.")
    parser.add_argument("--columns", type=int, default=2, help="Photos side by side per sheet row.")
    parser.add_argument("--tile", type=int, default=200, help="Side of each sheet tile in pixels.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    colorizers = {m: Colorizer.from_pretrained(m, device="cpu") for m in args.model}
    files = list_images(args.data, args.limit)
    scores: dict[str, list[float]] = {m: [] for m in args.model}
    groups: list[list[Image.Image]] = []
    for path in files:
        image = load_image(path)
        gray = np.asarray(Image.fromarray(to_depth(image.pixels, np.uint8)).convert("L").convert("RGB"))
        group = [tile(gray, path.stem[:28], args.tile)]
        for name, colorizer in colorizers.items():
            rgb8 = to_depth(colorizer.colorize(image), np.uint8)
            scores[name].append(hasler(rgb8))
            group.append(tile(rgb8, f"{Path(name).stem[:18]} {scores[name][-1]:.0f}", args.tile))
        groups.append(group)
    result = {"data": str(args.data), "n": len(files),
              "median_colorfulness": {m: statistics.median(v) for m, v in scores.items()},
              "mean_colorfulness": {m: statistics.fmean(v) for m, v in scores.items()},
              "per_photo": {m: dict(zip([p.name for p in files], v)) for m, v in scores.items()}}
    for name in args.model:
        print(f"{name}: median colorfulness {result['median_colorfulness'][name]:.1f} "
              f"(mean {result['mean_colorfulness'][name]:.1f}) over {len(files)} photos")
    if args.sheet:
        per_row = max(1, args.columns)
        sheet([sum(groups[i:i + per_row], []) for i in range(0, len(groups), per_row)], args.sheet)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
