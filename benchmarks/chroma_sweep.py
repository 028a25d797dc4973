"""Fidelity versus vividness of one model as its saturation gain (``--chroma``) varies.

The network runs once per image; each gain rescales the same ab prediction, so a sweep costs about one
evaluation. Same protocol as ``chromagen evaluate`` (center square, bicubic, L from the ground truth,
metrics on 8-bit sRGB, gray photos skipped). Use it on ../shared/data/val to pick a model's gain, then on
the bench sets to report it.

    .venv/bin/python benchmarks/chroma_sweep.py --model default --data ../shared/data/val --limit 300
"""

import argparse
import json
from pathlib import Path

import torch

from chromagen.color import gray_lab, lab_to_rgb, rgb_to_lab
from chromagen.defaults import DEFAULT_SIZE
from chromagen.evaluation.lpips_offline import lpips_distance
from chromagen.evaluation.metrics import colorfulness, is_gray, psnr, quantize8
from chromagen.evaluation.runner import Protocol, list_images, protocol_batches
from chromagen.inference import Colorizer

METRICS = ("psnr", "lpips", "colorfulness")


def sweep(model: str, data: Path, gains: list[float], size: int, working_size: int,
          limit: int | None) -> dict[str, object]:
    """Mean PSNR / LPIPS / colorfulness per gain (gain 0 is the gray baseline) and the truth's colorfulness."""
    colorizer = Colorizer.from_pretrained(model, device="cpu", size=working_size, chroma=1.0, backend="torch")
    protocol = Protocol(size=size, working_size=working_size, limit=limit)
    sums = {g: dict.fromkeys(METRICS, 0.0) for g in [0.0, *gains]}
    truth_cf, count = 0.0, 0
    for _, truth in protocol_batches(list_images(data, limit), protocol):
        truth = truth[~is_gray(truth, protocol.gray_threshold)]
        if not len(truth):
            continue
        lab = colorizer.colorize_lab(rgb_to_lab(truth)[:, :1])
        for gain, acc in sums.items():
            scaled = gray_lab(lab[:, :1]) if gain == 0 else torch.cat([lab[:, :1], lab[:, 1:] * gain], 1)
            pred = quantize8(lab_to_rgb(scaled))
            acc["psnr"] += float(psnr(pred, truth).sum())
            acc["lpips"] += float(lpips_distance(pred, truth).sum())
            acc["colorfulness"] += float(colorfulness(pred).sum())
        truth_cf += float(colorfulness(truth).sum())
        count += len(truth)
    return {"model": model, "data": str(data), "n": count, "size": size, "working_size": working_size,
            "colorfulness_gt": truth_cf / count,
            "gains": {str(g): {k: v / count for k, v in acc.items()} for g, acc in sums.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--gains", type=float, nargs="+", default=[1.0, 1.25, 1.5, 1.75, 2.0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--working-size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", type=Path, help="Also write the result here.")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    result = sweep(args.model, args.data, args.gains, args.size, args.working_size, args.limit)
    gray = result["gains"]["0.0"]
    print(f"{result['model']} on {result['data']} ({result['n']} photos, {args.size} px, working "
          f"{args.working_size}); truth colorfulness {result['colorfulness_gt']:.2f}")
    print("| chroma | PSNR | vs gray | LPIPS | colorfulness | / truth |\n|---|---|---|---|---|---|")
    for gain, row in result["gains"].items():
        print(f"| {'gray' if gain == '0.0' else gain} | {row['psnr']:.2f} | {row['psnr'] - gray['psnr']:+.2f} | "
              f"{row['lpips']:.4f} | {row['colorfulness']:.2f} | "
              f"{row['colorfulness'] / result['colorfulness_gt']:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
