"""Does test-time augmentation pay? Working sizes, horizontal-flip averaging and a multi-size average.

Same protocol as ``chromagen evaluate`` (protocol_batches, gray photos skipped). Prints mean PSNR and
colorfulness per variant; docs/experiments.md records why chromagen does not do this at inference.

    .venv/bin/python benchmarks/tta_probe.py --data ../shared/data/val --limit 200
"""

import argparse
from pathlib import Path

import torch
from torch import Tensor

from chromagen.color import lab_to_rgb, rgb_to_lab
from chromagen.evaluation.metrics import colorfulness, is_gray, psnr, quantize8
from chromagen.evaluation.runner import Protocol, list_images, protocol_batches
from chromagen.inference import Colorizer


def variants(colorizers: dict[int, Colorizer], lightness: Tensor) -> dict[str, Tensor]:
    """Predicted ab per variant: each working size alone, with its flipped twin averaged in, all sizes."""
    out: dict[str, Tensor] = {}
    for size, colorizer in colorizers.items():
        ab = colorizer.colorize_lab(lightness)[:, 1:]
        flipped = colorizer.colorize_lab(lightness.flip(-1))[:, 1:].flip(-1)
        out[str(size)], out[f"{size}+flip"] = ab, (ab + flipped) / 2
    out["all sizes+flip"] = torch.stack([out[f"{s}+flip"] for s in colorizers]).mean(0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[160, 192, 224], help="working sizes")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    protocol = Protocol(limit=args.limit)
    colorizers = {s: Colorizer.from_pretrained(args.model, device="cpu", size=s, chroma=1.0, backend="torch") for s in args.sizes}
    sums: dict[str, list[float]] = {}
    count = 0
    for _, truth in protocol_batches(list_images(args.data, args.limit), protocol):
        truth = truth[~is_gray(truth, protocol.gray_threshold)]
        lightness = rgb_to_lab(truth)[:, :1]
        for name, ab in variants(colorizers, lightness).items():
            pred = quantize8(lab_to_rgb(torch.cat([lightness, ab], 1)))
            acc = sums.setdefault(name, [0.0, 0.0])
            acc[0] += float(psnr(pred, truth).sum())
            acc[1] += float(colorfulness(pred).sum())
        count += len(truth)
    print(f"{args.model} on {args.data} ({count} photos, {protocol.size} px)\n| variant | PSNR | colorfulness |\n|---|---|---|")
    for name, (p, c) in sums.items():
        print(f"| {name} | {p / count:.2f} | {c / count:.2f} |")


if __name__ == "__main__":
    main()
