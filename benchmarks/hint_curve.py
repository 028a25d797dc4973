"""PSNR against the number of ground-truth hints, from `chromagen evaluate --hints ...` JSON files.

    for s in cbsd68 kodak24 mcmaster scenes80; do
        .venv/bin/chromagen evaluate --model hints --data ../shared/data/bench/$s --hints 0 --hints 1 --hints 2 \
            --hints 5 --hints 10 --hints 20 --hints 50 --json docs/results/hints/$s.json
    done
    .venv/bin/python benchmarks/hint_curve.py docs/results/hints/*.json --baseline docs/results \
        --plot docs/results/hints/curve.png

Prints a markdown table (PSNR per hint count, gain of 10 hints over none, the bundled default's PSNR from
its own result file in ``--baseline`` for the "no hint" comparison, and the ab error at hinted pixels).
A set scored in parts (``SET-part1.json``, ``SET-part2.json``: halves of its sorted files, to use both cores)
is combined, weighted by image count.
"""

import argparse
import json
import re
from pathlib import Path


def rows(path: Path) -> dict[int, dict]:
    """Hint count -> result row of a hint-aware model in one evaluate JSON."""
    models = json.loads(path.read_text())["models"]
    return {int(m.group(1)): row for name, row in models.items() if (m := re.search(r" \+(\d+) hints$", name))}


def combined(paths: list[Path]) -> dict[int, dict]:
    """One set scored in parts (``SET-part1.json``, ``SET-part2.json``, ...): means weighted by image count."""
    parts = [rows(p) for p in paths]
    out = {}
    for count in parts[0]:
        n = sum(part[count]["n"] for part in parts)
        out[count] = {"n": n, **{key: sum(part[count][key] * part[count]["n"] for part in parts) / n
                                 if parts[0][count][key] is not None else None
                                 for key in ("psnr", "hint_ab_error")}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--baseline", type=Path, help="folder with the default's <set>.json results")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    by_set: dict[str, list[Path]] = {}
    for path in args.results:
        by_set.setdefault(re.sub(r"-part\d+$", "", path.stem), []).append(path)
    curves = {name: combined(paths) for name, paths in sorted(by_set.items())}
    counts = sorted({n for c in curves.values() for n in c})
    print("| set | default | " + " | ".join(f"{n} hints" for n in counts) + " | 10 vs 0 |")
    print("|---" * (len(counts) + 3) + "|")
    for name, curve in curves.items():
        default = json.loads((args.baseline / f"{name}.json").read_text())["models"]["default"]["psnr"] \
            if args.baseline else None
        cells = [f"{curve[n]['psnr']:.2f}" if n in curve else "" for n in counts]
        gain = curve[10]["psnr"] - curve[0]["psnr"] if {0, 10} <= set(curve) else None
        print(f"| {name} | {default:.2f} | " + " | ".join(cells) + f" | {gain:+.2f} dB |")
    print()
    print("ab error at hinted pixels (Lab units):")
    print("| set | " + " | ".join(f"{n} hints" for n in counts if n) + " |")
    print("|---" * len(counts) + "|")
    for name, curve in curves.items():
        print(f"| {name} | " + " | ".join(f"{curve[n]['hint_ab_error']:.2f}" for n in counts if n and n in curve)
              + " |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in curves.items():
            ns = sorted(curve)
            ax.plot([max(n, 0.5) for n in ns], [curve[n]["psnr"] for n in ns], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xticks([0.5, 1, 2, 5, 10, 20, 50], ["0", "1", "2", "5", "10", "20", "50"])
        ax.set_xlabel("ground-truth hints per image")
        ax.set_ylabel("PSNR (dB), 256x256 protocol")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
