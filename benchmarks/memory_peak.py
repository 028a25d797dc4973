"""Peak memory (max RSS) of loading, or of colorizing, one large photo, each in a fresh process.

Usage: python benchmarks/memory_peak.py [--width 8000 --height 6000] [--gray] [--stage load|colorize]
           [--folder /tmp/chromagen-memory]

The photo is generated once (smooth gradients and noise, JPEG quality 90) in ``--folder``. ``load`` runs
``load_image`` alone; ``colorize`` runs ``chromagen colorize`` on it (the whole CLI path: decode, predict,
full-resolution recombination, encode). The figure is the child's peak resident set size.
"""

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

LOAD = "from chromagen.media.image import load_image; import sys; load_image(sys.argv[1])"
COLORIZE = "from chromagen.cli import app; app()"


def make_photo(path: Path, width: int, height: int, gray: bool) -> Path:
    """A large JPEG built band by band (this script must not need the memory it measures)."""
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("L" if gray else "RGB", (width, height))
    rng = np.random.default_rng(0)
    band = 500
    for top in range(0, height, band):
        rows = min(band, height - top)
        yy, xx = np.mgrid[top:top + rows, 0:width].astype(np.float32)
        base = 128 + 100 * np.sin(xx / 700) * np.cos(yy / 500)
        noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        pixels = noisy if gray else np.dstack([noisy, noisy[::-1], np.roll(noisy, 50, axis=1)])
        image.paste(Image.fromarray(pixels), (0, top))
    image.save(path, quality=90)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=8000)
    parser.add_argument("--height", type=int, default=6000)
    parser.add_argument("--gray", action="store_true")
    parser.add_argument("--stage", choices=["load", "colorize"], default="load")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/chromagen-memory"))
    args = parser.parse_args()
    name = f"{args.width}x{args.height}{'-gray' if args.gray else ''}.jpg"
    photo = make_photo(args.folder / name, args.width, args.height, args.gray)
    if args.stage == "load":
        command = [sys.executable, "-c", LOAD, str(photo)]
    else:
        command = [sys.executable, "-c", COLORIZE, "colorize", str(photo), "-o", str(args.folder / "out"),
                   "--overwrite"]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux reports KiB
    pixels = args.width * args.height
    print(f"{args.stage} {name}: peak RSS {peak / 2**30:.2f} GiB ({peak / pixels:.1f} bytes/pixel), "
          f"{seconds:.1f} s")


if __name__ == "__main__":
    main()
