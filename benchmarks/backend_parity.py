"""ONNX Runtime vs torch: PSNR between the two backends' outputs for the same model, per bench set.

Usage: python benchmarks/backend_parity.py [--model default] [--data ../shared/data/bench] [--threads 2]

Every photo of every set is colorized at full resolution by `Colorizer.colorize` on each backend (the same
8-bit input, the bundled or given model in its .onnx and torch forms) and the two 8-bit outputs are
compared. Prints per set: photos, mean PSNR and the worst photo's PSNR (identical outputs count as 99 dB).
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from chromagen.inference import Colorizer

MAX_PSNR = 99.0


def psnr8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two 8-bit images (capped for identical ones)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return MAX_PSNR if mse == 0 else min(MAX_PSNR, 10 * np.log10(255.0**2 / mse))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="bundled name (both forms ship)")
    parser.add_argument("--onnx", help="the .onnx export of --model when it is a weights file")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bench"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    pair = {"onnx": Colorizer.from_pretrained(args.onnx or args.model, backend="onnx", device="cpu",
                                              threads=args.threads),
            "torch": Colorizer.from_pretrained(args.model, backend="torch", device="cpu", threads=args.threads)}
    print(f"{'set':12}{'photos':>8}{'mean PSNR':>12}{'worst':>10}")
    for folder in sorted(p for p in args.data.iterdir() if p.is_dir()):
        scores = []
        for path in sorted(folder.rglob("*.jpg")):
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"))
            scores.append(psnr8(pair["onnx"].colorize(pixels), pair["torch"].colorize(pixels)))
        if not scores:
            continue
        print(f"{folder.name:12}{len(scores):>8}{np.mean(scores):>10.1f} dB{min(scores):>7.1f} dB", flush=True)


if __name__ == "__main__":
    main()
