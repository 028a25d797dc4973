"""End-to-end video throughput and peak memory: decode + colorize + stabilize + encode + mux, frames/s.

Each measurement runs in a fresh process (so peak RSS is that job's alone) on a generated clip with AAC
audio (pans and zooms over scikit-image's photos, cuts between them):

    nice -n 10 python benchmarks/video_throughput.py                     # 640x360 and 1280x720, 100 frames
    nice -n 10 python benchmarks/video_throughput.py --sizes 1280x720 --frames 50 200   # memory vs length
    nice -n 10 python benchmarks/video_throughput.py --sizes 1280x720 --color           # a color clip

Peak memory that does not grow with the number of frames is what lets a feature film go through. CPU
milliseconds per frame (user + system, all threads) say what a job costs when other work shares the cores.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.clips: the clip generator the tests use


def clip_spec(width: int, height: int, frames: int, gray: bool = True):
    """Three shots (pan, zoom, pan) sharing ``frames`` frames, 25 fps, with audio; black-and-white by default."""
    from tests.clips import ClipSpec, Shot

    third = frames // 3
    return ClipSpec(width=width, height=height, fps=25, gray=gray, shots=(
        Shot("astronaut", third, (0.0, 0.5, 0.4), (1.0, 0.5, 0.4)),
        Shot("coffee", third, (0.5, 0.5, 0.0), (0.5, 0.4, 0.6)),
        Shot("chelsea", frames - 2 * third, (1.0, 0.3, 0.3), (0.0, 0.6, 0.3))))


def _cpu_seconds() -> float:
    """User + system CPU time of this process: on a shared machine, what the job itself cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(args: argparse.Namespace) -> dict:
    """One job in this process (threads set by the parent through OMP_NUM_THREADS): frames/s and peak RSS."""
    from chromagen.inference import Colorizer
    from chromagen.sequence import VideoOptions, colorize_video
    from tests.clips import write_clip

    width, height = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        src = write_clip(Path(tmp) / "clip.mp4", clip_spec(width, height, args.one_length, gray=not args.color))
        colorizer = Colorizer.from_pretrained(args.model, device=args.device)
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        colorize_video(src, Path(tmp) / "out.mp4", colorizer, options=VideoOptions(stabilize=args.stabilize))
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    return {"size": args.size, "frames": args.one_length, "seconds": round(seconds, 2),
            "frames_per_s": round(args.one_length / seconds, 2),
            "cpu_ms_per_frame": round(1000 * cpu / args.one_length, 1),
            "load_average": os.getloadavg()[0],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "threads": args.threads, "torch_imported": "torch" in sys.modules, "model": args.model,
            "device": args.device, "stabilize": args.stabilize, "color": args.color}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--frames", nargs="+", type=int, default=[100], help="clip lengths to run (frames)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--stabilize", type=float, default=0.7)
    parser.add_argument("--color", action="store_true", help="a color clip: like a tinted film or one with chroma "
                        "noise, its frames' lightness goes through the color graph (a gray one's, a lookup table)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--size", help=argparse.SUPPRESS)  # one measurement (child process)
    parser.add_argument("--one-length", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size:
        print(json.dumps(measure(args)))
        return
    results = []
    for size in args.sizes:
        for frames in args.frames:
            cmd = [sys.executable, __file__, "--size", size, "--one-length", str(frames), "--model", args.model,
                   "--device", args.device, "--threads", str(args.threads), "--stabilize", str(args.stabilize),
                   *(["--color"] if args.color else [])]
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
            row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                             .stdout.splitlines()[-1])
            print(f"{row['size']:>9}  {row['frames']:5d} frames  {row['frames_per_s']:6.2f} frames/s  "
                  f"{row['cpu_ms_per_frame']:6.1f} CPU-ms/frame  peak RSS {row['peak_rss_mb']:7.1f} MB  "
                  f"({row['seconds']} s, {row['threads']} threads, load {row['load_average']:.1f})", flush=True)
            results.append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
