"""A long film through ``chromagen colorize``: peak memory, frames/s, and the output checked against the source.

Usage: python benchmarks/long_film.py [--size 1280x720] [--minutes 10] [--folder /tmp/chromagen-film] [--json F]

The film (25 fps, black and white, with a sine AAC track; pans and zooms over photos, two cuts: the clip
of ``video_throughput.py``) is generated once in ``--folder`` and reused. The colorization runs as its own
process, the CLI a user runs; its peak resident set size is the kernel's figure for that process alone.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.clips: the clip generator
sys.path.insert(0, str(REPO / "benchmarks"))  # video_throughput's clip, cpu_latency's child runner
FPS = 25


def film(folder: Path, width: int, height: int, frames: int) -> Path:
    """The generated film, written once (generation takes minutes for a long 720p film)."""
    from tests.clips import write_clip
    from video_throughput import clip_spec

    path = folder / f"film-{width}x{height}-{frames}.mp4"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part.mp4")
        start = time.perf_counter()
        write_clip(partial, clip_spec(width, height, frames))
        os.replace(partial, path)
        print(f"generated {path} in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def colorize(src: Path, out: Path) -> dict[str, float]:
    """``chromagen colorize`` in a child process: wall seconds, CPU seconds and the child's own peak RSS."""
    from cpu_latency import run_child

    wall, peak, _, cpu = run_child([sys.executable, "-m", "chromagen", "colorize", str(src), "-o", str(out),
                                    "--overwrite"])
    return {"seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak / 2**20}


def probe(path: Path) -> tuple[int, float]:
    """Video frames and container duration (seconds), as the file states them."""
    import av

    with av.open(str(path)) as container:
        return container.streams.video[0].frames, container.duration / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/chromagen-film"))
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    frames = round(args.minutes * 60 * FPS)
    src = film(args.folder, width, height, frames)
    out = args.folder / "out"
    result = colorize(src, out)
    (frames_in, seconds_in), (frames_out, seconds_out) = probe(src), probe(out / src.name)
    row = {"size": args.size, "frames": frames, "minutes": args.minutes, **{k: round(v, 1) for k, v in result.items()},
           "frames_per_s": round(frames / result["seconds"], 2), "load_average": os.getloadavg()[0],
           "source_frames": frames_in, "output_frames": frames_out, "source_duration_s": seconds_in,
           "output_duration_s": seconds_out}
    print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
