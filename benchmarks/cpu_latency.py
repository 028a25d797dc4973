"""CPU latency of chromagen on a 1024x768 photo, both backends, with an ECCV16-shaped forward as yardstick.

Usage: python benchmarks/cpu_latency.py [--model default] [--repeats 5] [--threads 2] [--json FILE]

In one run, each in a fresh process so one backend's imports never inflate the other's memory:
- `chromagen colorize` end to end (process start, imports, model load, decode, colorize, encode), per
  backend: median wall time and the child's peak RSS;
- the in-process API (`Colorizer.colorize` on an already decoded photo), per backend: median wall time and
  the process's peak RSS;
- the forward pass of an ECCV16-shaped network (Zhang et al. 2016: VGG-style, 313-bin head) at 256x256 on
  torch, random weights: the yardstick. CPU times move with machine load, so ratios within one run matter;
- that ratio once more with both called in turn in one process (API, forward, API, ...; the median of the
  per-pair ratios), where a slow spell of a shared machine slows both alike instead of only the one
  measured at that moment.

chromagen's bytecode is compiled first, as installing the package does: with ``PYTHONDONTWRITEBYTECODE``
set (as on the project machine) a source checkout would otherwise recompile every module on every run.
"""

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = ("onnx", "torch")


def _photo(folder: Path) -> Path:
    """A 1024x768 gray JPEG (scikit-image's astronaut, reduced to gray)."""
    from PIL import Image
    from skimage import data as skdata

    path = folder / "photo.jpg"
    gray = Image.fromarray(skdata.astronaut()).convert("L").resize((1024, 768), Image.Resampling.BICUBIC)
    gray.save(path, quality=95)
    return path


def median_time(fn, repeats: int) -> float:
    """Median wall seconds over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_child(command: list[str]) -> tuple[float, int, str, float]:
    """Wall seconds, peak RSS (bytes), stdout and CPU seconds (user + system) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = child.stdout.read(), child.stderr.read()
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    return wall, usage.ru_maxrss * 1024, stdout, usage.ru_utime + usage.ru_stime


def cli(photo: Path, backend: str, args: argparse.Namespace) -> dict[str, float]:
    """`chromagen colorize` end to end: median wall and CPU time, the largest peak RSS over the repeats.

    CPU time (user + system) moves much less with machine load than wall time does.
    """
    command = [sys.executable, "-m", "chromagen", "colorize", str(photo), "-o", str(photo.parent / backend),
               "--model", args.model, "--backend", backend, "--threads", str(args.threads), "--device", "cpu",
               "--overwrite"]
    runs = [run_child(command) for _ in range(args.repeats + 1)][1:]  # the first warms the page cache
    return {"wall_s": statistics.median(r[0] for r in runs), "peak_rss_mb": max(r[1] for r in runs) / 2**20,
            "cpu_s": statistics.median(r[3] for r in runs)}


def api_child(photo: Path, backend: str, args: argparse.Namespace) -> None:
    """(In a fresh process) time Colorizer.colorize on the decoded photo; print JSON with peak RSS."""
    import resource

    import numpy as np
    from PIL import Image

    from chromagen.inference import Colorizer

    colorizer = Colorizer.from_pretrained(args.model, device="cpu", backend=backend, threads=args.threads)
    image = np.asarray(Image.open(photo))
    wall = median_time(lambda: colorizer.colorize(image), args.repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"wall_s": wall, "peak_rss_mb": peak / 2**20}))


def ratio_child(photo: Path, backend: str, args: argparse.Namespace) -> None:
    """(In a fresh process) Colorizer.colorize and the yardstick's forward called in turn, so that a slow spell
    of a shared machine hits both alike; print JSON: the median of each and of the per-pair ratios."""
    import numpy as np
    import torch
    from PIL import Image

    from chromagen.inference import Colorizer

    torch.set_num_threads(args.threads)
    colorizer = Colorizer.from_pretrained(args.model, device="cpu", backend=backend, threads=args.threads)
    image = np.asarray(Image.open(photo))
    model, x = eccv16(), torch.zeros(1, 1, 256, 256)
    pairs = []
    with torch.inference_mode():
        for i in range(args.repeats + 1):
            start = time.perf_counter()
            colorizer.colorize(image)
            middle = time.perf_counter()
            model(x)
            if i:  # the first pair warms up
                pairs.append((middle - start, time.perf_counter() - middle))
    print(json.dumps({"api_s": statistics.median(a for a, _ in pairs),
                      "eccv16_s": statistics.median(f for _, f in pairs),
                      "ratio": statistics.median(a / f for a, f in pairs)}))


def api(photo: Path, backend: str, args: argparse.Namespace, child: str = "--child-api") -> dict[str, float]:
    command = [sys.executable, __file__, child, backend, "--photo", str(photo), "--model", args.model,
               "--repeats", str(args.repeats), "--threads", str(args.threads)]
    return json.loads(run_child(command)[2])


def eccv16() -> "object":
    """Zhang et al.'s ECCV16 colorization network, layer for layer (random weights: timing only)."""
    from torch import nn

    def block(cin: int, cout: int, n: int, stride_last: int = 1, dilation: int = 1) -> list[nn.Module]:
        layers: list[nn.Module] = []
        for i in range(n):
            stride = stride_last if i == n - 1 else 1
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride, dilation, dilation), nn.ReLU(True)]
        return [*layers, nn.BatchNorm2d(cout)]

    return nn.Sequential(
        *block(1, 64, 2, 2), *block(64, 128, 2, 2), *block(128, 256, 3, 2), *block(256, 512, 3),
        *block(512, 512, 3, dilation=2), *block(512, 512, 3, dilation=2), *block(512, 512, 3),
        nn.ConvTranspose2d(512, 256, 4, 2, 1), nn.ReLU(True), nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True),
        nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True), nn.Conv2d(256, 313, 1), nn.Softmax(dim=1),
        nn.Conv2d(313, 2, 1, bias=False), nn.Upsample(scale_factor=4, mode="bilinear"),
    ).eval()


def yardstick(args: argparse.Namespace) -> dict[str, float]:
    """Median forward time of the ECCV16-shaped network on one 256x256 L input."""
    import torch

    torch.set_num_threads(args.threads)
    model, x = eccv16(), torch.zeros(1, 1, 256, 256)
    with torch.inference_mode():
        wall = median_time(lambda: model(x), args.repeats)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return {"wall_s": wall, "parameters_m": params}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--child-api", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--child-ratio", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--photo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_api:
        api_child(args.photo, args.child_api, args)
        return
    if args.child_ratio:
        ratio_child(args.photo, args.child_ratio, args)
        return

    import chromagen

    compileall.compile_dir(Path(chromagen.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        photo = _photo(Path(tmp))
        result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "threads": args.threads,
                  "cpus": os.cpu_count(), "load_average": os.getloadavg()[0], "model": args.model,
                  "photo": "1024x768 gray JPEG", "repeats": args.repeats,
                  "cli": {b: cli(photo, b, args) for b in BACKENDS},
                  "api": {b: api(photo, b, args) for b in BACKENDS},
                  "eccv16_256": yardstick(args),
                  "interleaved": {b: api(photo, b, args, "--child-ratio") for b in BACKENDS}}
    fwd = result["eccv16_256"]["wall_s"]
    print(f"{result['date']}, {args.threads} threads, {result['cpus']} CPUs, load average "
          f"{result['load_average']:.1f}, model {args.model}, median of {args.repeats}")
    print(f"{'':34}{'onnx':>16}{'torch':>16}{'torch/onnx':>12}")
    for key, label in (("cli", "CLI end to end (1024x768)"), ("api", "in-process Colorizer.colorize")):
        o, t = result[key]["onnx"], result[key]["torch"]
        print(f"{label + ', wall':34}{o['wall_s']:>14.3f} s{t['wall_s']:>14.3f} s{t['wall_s'] / o['wall_s']:>11.1f}x")
        print(f"{label + ', peak RSS':34}{o['peak_rss_mb']:>13.0f} MB{t['peak_rss_mb']:>13.0f} MB"
              f"{t['peak_rss_mb'] / o['peak_rss_mb']:>11.1f}x")
        if key == "cli":
            print(f"{label + ', CPU time':34}{o['cpu_s']:>14.3f} s{t['cpu_s']:>14.3f} s"
                  f"{t['cpu_s'] / o['cpu_s']:>11.1f}x")
    print(f"ECCV16-shaped forward, 256x256, torch: {fwd:.3f} s "
          f"({result['eccv16_256']['parameters_m']:.1f}M parameters)")
    for b in BACKENDS:
        print(f"in-process API / ECCV16 forward, {b}: {result['api'][b]['wall_s'] / fwd:.3f}x")
    for b in BACKENDS:
        both = result["interleaved"][b]
        print(f"the same, called in turn in one process, {b}: {both['ratio']:.3f}x (median of the pairs; "
              f"API {both['api_s']:.3f} s, forward {both['eccv16_s']:.3f} s)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
