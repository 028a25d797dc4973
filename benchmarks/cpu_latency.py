"""CPU latency of `chromagen colorize` on a 1024x768 photo, and the model's GMACs at 256x256.

Usage: python benchmarks/cpu_latency.py [--model default] [--size 256] [--repeats 5] [--threads 2]

Prints the end-to-end wall time of the command (process start, model load, decode, predict, encode),
the in-process time of one `Colorizer.colorize` call, and how that call splits between the network and
everything around it, as ratios measured in the same run.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data as skdata
from torch.utils.flop_counter import FlopCounterMode

from chromagen.inference import DEFAULT_SIZE, Colorizer, working_shape
from chromagen.media.image import load_image


def gmacs(model: torch.nn.Module, size: int) -> float:
    """Multiply-accumulates (1e9) of one forward pass on a size x size L input (FLOPs / 2)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 1, size, size))
    return counter.get_total_flops() / 2e9


def timed(fn, repeats: int) -> float:
    """Median wall time in seconds over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        gray = Image.fromarray(skdata.astronaut()).convert("L").resize((1024, 768), Image.Resampling.BICUBIC)
        gray.save(photo, quality=95)
        command = [sys.executable, "-m", "chromagen", "colorize", str(photo), "-o", str(Path(tmp) / "out"),
                   "--model", args.model, "--size", str(args.size), "--device", "cpu", "--overwrite"]
        end_to_end = timed(lambda: subprocess.run(command, check=True, capture_output=True), args.repeats)

        colorizer = Colorizer.from_pretrained(args.model, device="cpu", size=args.size)
        image = load_image(photo)
        call = timed(lambda: colorizer.colorize(image), args.repeats)
        h, w = working_shape(768, 1024, args.size)
        l_small = torch.zeros(1, 1, h, w)
        network = timed(lambda: colorizer.network_ab(l_small), args.repeats)

    macs = gmacs(colorizer.model, 256)
    params = sum(p.numel() for p in colorizer.model.parameters()) / 1e6
    print(f"model {args.model}: {params:.2f}M parameters, {macs:.2f} GMACs at 256x256")
    print(f"threads {torch.get_num_threads()}, working size {w}x{h} for a 1024x768 photo")
    print(f"end-to-end `chromagen colorize` (process start + load + colorize + save): {end_to_end:.2f} s")
    print(f"in-process Colorizer.colorize: {call:.3f} s; network forward share: {network / call:.0%}")
    print(f"process start + model load + file I/O are {end_to_end / call:.1f}x the colorize call itself")
    print(f"numpy {np.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
