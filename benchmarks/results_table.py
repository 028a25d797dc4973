"""Combine `chromagen evaluate --json` files into one markdown table (one row per set and model).

Usage: python benchmarks/results_table.py RESULT.json [RESULT.json ...]
"""

import json
import sys
from pathlib import Path

COLUMNS = ("n", "skipped", "psnr", "ssim", "lpips", "fid", "kid", "colorfulness", "colorfulness_gt", "mse_ab", "auc",
           "auc_rebalanced")


def fmt(value: object) -> str:
    """Numbers to 4 significant digits, missing values as n/a."""
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def main(paths: list[str]) -> None:
    print("| set | model | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for path in paths:
        result = json.loads(Path(path).read_text())
        for name, row in result["models"].items():
            print(f"| {Path(path).stem} | {name} | " + " | ".join(fmt(row[c]) for c in COLUMNS) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
