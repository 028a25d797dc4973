"""Photos per second of ``chromagen colorize`` on a folder, with and without the read-ahead/write-behind overlap.

Usage: python benchmarks/folder_throughput.py [--photos 24] [--size 1024x768] [--rounds 3] [--threads 2]

The folder holds generated gray JPEGs (scikit-image's photos, resized). Each round runs the CLI twice in
fresh processes, alternating: as shipped, and with ``OVERLAP_PIXELS = 0`` (every photo decoded, colorized
and written in turn, as before the overlap). Medians over the rounds; the ratio is the figure to read on a
shared machine.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERIAL = "import chromagen.cli.colorize as c; c.OVERLAP_PIXELS = 0; from chromagen.cli import app; app()"
SHIPPED = "from chromagen.cli import app; app()"


def make_folder(folder: Path, count: int, width: int, height: int) -> None:
    from PIL import Image
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.camera()]
    for i in range(count):
        image = Image.fromarray(sources[i % len(sources)]).convert("L").resize((width, height))
        image.save(folder / f"{i:03d}.jpg", quality=92)


def run(code: str, folder: Path, out: Path, threads: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, "colorize", str(folder), "-o", str(out), "--overwrite",
                    "--threads", str(threads)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--size", default="1024x768")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "in", Path(tmp) / "out"
        folder.mkdir()
        make_folder(folder, args.photos, width, height)
        run(SHIPPED, folder, out, args.threads)  # warm the page cache and the bytecode
        times: dict[str, list[float]] = {"overlap": [], "serial": []}
        for _ in range(args.rounds):
            times["overlap"].append(run(SHIPPED, folder, out, args.threads))
            times["serial"].append(run(SERIAL, folder, out, args.threads))
    rates = {k: args.photos / statistics.median(v) for k, v in times.items()}
    print(f"{args.photos} photos {args.size}, {args.threads} threads, median of {args.rounds}: "
          f"overlap {rates['overlap']:.2f} photos/s, serial {rates['serial']:.2f} photos/s, "
          f"ratio {rates['overlap'] / rates['serial']:.2f}x")


if __name__ == "__main__":
    main()
