"""Outputs for people: a terminal table, an image grid, accuracy-versus-threshold curves, a markdown report."""

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rich.table import Table
from rich.text import Text
from torch import Tensor

from chromagen.errors import writing
from chromagen.media.image import save_image, to_uint8

COLUMNS = ("n", "skipped", "psnr", "ssim", "lpips", "fid", "kid", "colorfulness", "colorfulness_gt", "mse_ab", "auc",
           "auc_rebalanced", "hint_ab_error")
HEADERS = ("n", "skip", "PSNR", "SSIM", "LPIPS", "FID", "KID", "CF", "CF gt", "MSE ab", "AuC", "AuC rb", "ab err @hints")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "lpips": False, "fid": False, "kid": False, "mse_ab": False, "auc": True,
                    "auc_rebalanced": True, "hint_ab_error": False}


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def results_table(result: dict[str, Any], title: str = "") -> Table:
    """A rich table, one row per model."""
    table = Table(title=Text(title or f"evaluation on {result['protocol']['data']}"))  # paths: no markup
    table.add_column("model", overflow="fold")
    for header in HEADERS:
        table.add_column(header, justify="right", no_wrap=True)
    for name, row in result["models"].items():
        table.add_row(Text(name), *(_fmt(row.get(c)) for c in COLUMNS))
    return table


def markdown_table(result: dict[str, Any]) -> str:
    """The same table in GitHub markdown, best value per column in bold."""
    models = result["models"]
    best = {}
    for column, higher in HIGHER_IS_BETTER.items():
        values = [row.get(column) for row in models.values() if row.get(column) is not None]
        if len(values) > 1:
            best[column] = max(values) if higher else min(values)
    lines = ["| model | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, row in models.items():
        cells = [f"**{_fmt(row.get(c))}**" if c in best and row[c] == best[c] else _fmt(row.get(c)) for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_grid(samples: dict[str, Tensor], path: Path, tile: int = 160, overwrite: bool = True,
              note: str = "") -> Path:
    """Rows of gray input | each model | ground truth (when known), labeled, like the figures in papers;
    ``note`` (e.g. the command that made it) is written below."""
    names = list(samples)
    rows = len(samples[names[0]])
    label_h, gap, note_h = 24, 4, 16 if note else 0
    canvas = Image.new("RGB", (len(names) * (tile + gap) + gap, label_h + rows * (tile + gap) + gap + note_h),
                       "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    if note:
        draw.text((gap, canvas.height - note_h), note, fill="gray", font=ImageFont.load_default(size=10))
    for col, name in enumerate(names):
        x = gap + col * (tile + gap)
        label = name if len(name) <= 22 else "…" + name[-21:]
        draw.text((x + 2, 4), label, fill="black", font=font)
        for row in range(rows):
            pixels = to_uint8(samples[name][row].permute(1, 2, 0).numpy())
            canvas.paste(Image.fromarray(pixels).resize((tile, tile), Image.Resampling.BICUBIC),
                         (x, label_h + gap + row * (tile + gap)))
    return save_image(np.asarray(canvas), path, overwrite=overwrite)


def save_curves(result: dict[str, Any], path: Path) -> Path:
    """Accuracy within an ab threshold versus the threshold, plain and class-rebalanced, per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for name, curve in result["curves"].items():
        auc_plain = result["models"][name]["auc"]
        auc_rebal = result["models"][name]["auc_rebalanced"]
        axes[0].plot(curve["thresholds"], curve["accuracy"], label=f"{name} (AuC {auc_plain:.3f})")
        axes[1].plot(curve["thresholds"], curve["accuracy_rebalanced"], label=f"{name} (AuC {auc_rebal:.3f})")
    for ax, title in zip(axes, ("all pixels", "class-rebalanced")):
        ax.set(title=title, xlabel="ab error threshold (Lab units)", xlim=(0, 150), ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("fraction of pixels within threshold")
    fig.tight_layout()
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _gains(result: dict[str, Any]) -> str:
    """Each model's --chroma as ``name x1.25`` (gray has none)."""
    gains = [f"{name} x{row['chroma']:g}" for name, row in result["models"].items() if row.get("chroma") is not None]
    return ", ".join(gains) or "none"


def write_report(result: dict[str, Any], path: Path, grid: Path | None, curves: Path | None,
                 extra_images: dict[str, Path] | None = None) -> Path:
    """A markdown report that embeds the table, the grid and the curves (paths relative to the report)."""
    protocol = result["protocol"]

    def rel(p: Path) -> str:
        return Path(p).resolve().relative_to(path.parent.resolve()).as_posix() \
            if Path(p).resolve().is_relative_to(path.parent.resolve()) else str(p)

    lines = [
        f"# Colorization evaluation: {protocol['data']}",
        "",
        f"Protocol: center square crop, resized to {protocol['size']}x{protocol['size']} ({protocol['resize']}), "
        f"L from the ground truth, model run at {protocol['working_size']} px, metrics on 8-bit sRGB. "
        f"Saturation gain: {_gains(result)}. "
        f"Skipped as gray ({protocol['gray_skip']}): {len(protocol['skipped_files'])}. "
        f"FID only with >= {protocol['fid_min_images']} images. chromagen {protocol['chromagen']}, "
        f"{protocol['date']}, device {protocol['device']}.",
        "",
        markdown_table(result),
        "",
    ]
    for title, image in [("Samples (gray input | models | ground truth)", grid),
                         ("Accuracy versus ab threshold", curves), *(extra_images or {}).items()]:
        if image is not None:
            lines += [f"## {title}", "", f"![{title}]({rel(image)})", ""]
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines))
    return path


def write_json(result: dict[str, Any], path: Path) -> Path:
    """The machine-readable result (schema in docs/evaluation.md)."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2))
    return path
