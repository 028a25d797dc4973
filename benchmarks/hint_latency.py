"""Latency of the web page's hint loop on CPU: re-colorize a kept 1-megapixel upload with 5 color hints.

Usage: PYTHONPATH=src python benchmarks/hint_latency.py [--megapixels 1] [--hints 5] [--repeats 15]
       [--example 1927-pet-ducks] [--json FILE]

Serves the app with uvicorn on 127.0.0.1 (a free port) in this process and talks to it over a real socket
as the page does: one upload (``POST /api/v1/uploads``), then ``GET /api/v1/uploads/{id}/colorized`` with
``--hints`` hints and format=jpeg, each request moving one hint to a new color so the hint-aware network
really runs every time (a repeated set of hints would be served from the kept prediction). Also times the
page's other request on a click, ``GET .../suggestions``. Reports the median and slowest of each.
"""

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the live-server helper lives with the tests

from chromagen.server import Settings, create_app  # noqa: E402
from tests.server_helpers import live_server  # noqa: E402


def photo(example: str, megapixels: float) -> bytes:
    """A bundled example, gray, resized to about ``megapixels``, as JPEG bytes."""
    with Image.open(REPO / "examples" / f"{example}.jpg") as im:
        scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
        resized = im.convert("L").resize((round(im.width * scale), round(im.height * scale)), Image.BICUBIC)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def hint_params(width: int, height: int, count: int, step: int) -> list[tuple[str, str]]:
    """``count`` hints spread over the image; the first one's color changes with ``step``."""
    params = []
    for i in range(count):
        x, y = width * (i + 1) // (count + 1), height * (2 * i + 1) // (2 * count)
        red = (40 + 37 * step) % 256 if i == 0 else 200
        params.append(("hint", f"{x},{y},#{red:02x}{60 + 30 * i:02x}40"))
    return params


def timed(client: httpx.Client, url: str, params: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    response = client.get(url, params=params)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--hints", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--example", default="1927-pet-ducks")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = photo(args.example, args.megapixels)
    with tempfile.TemporaryDirectory() as tmp, \
            live_server(create_app(Settings(device="cpu", study_db=Path(tmp) / "s.db"))) as url, \
            httpx.Client(base_url=url, timeout=120) as client:
        info = client.post("/api/v1/uploads", files={"image": ("photo.jpg", data, "image/jpeg")}).json()
        width, height = info["width"], info["height"]
        render = f"/api/v1/uploads/{info['id']}/colorized"
        suggest = f"/api/v1/uploads/{info['id']}/suggestions"
        timed(client, render, hint_params(width, height, args.hints, -1) + [("format", "jpeg")])  # loads the model
        renders = [timed(client, render, hint_params(width, height, args.hints, step) + [("format", "jpeg")])
                   for step in range(args.repeats)]
        suggestions = [timed(client, suggest, [("x", str(width * step // args.repeats)), ("y", str(height // 2))])
                       for step in range(args.repeats)]
    result = {"width": width, "height": height, "hints": args.hints, "repeats": args.repeats,
              "render_median_s": statistics.median(renders), "render_max_s": max(renders),
              "suggest_median_s": statistics.median(suggestions), "suggest_max_s": max(suggestions)}
    print(f"{width}x{height} ({width * height / 1e6:.2f} MP), {args.hints} hints, {args.repeats} requests each:")
    print(f"  re-colorize with hints: median {result['render_median_s']:.3f} s, slowest {result['render_max_s']:.3f} s")
    print(f"  suggested colors:       median {result['suggest_median_s']:.3f} s, "
          f"slowest {result['suggest_max_s']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
