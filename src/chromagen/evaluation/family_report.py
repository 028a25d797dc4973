"""docs/family.md: the family benchmark's tables, curves and grids from ``family.py score``'s results.

Numbers are written as measured; the ``## Findings`` section is left for a person to write.
"""

import datetime
import functools
import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from chromagen.color import gray_lab, rgb_to_lab
from chromagen.evaluation.compare import save_curve_plot
from chromagen.evaluation.family import START, compose, legacy_image, read_tars, stored_ab
from chromagen.evaluation.report import save_grid

COLUMNS = (("psnr", "PSNR"), ("ssim", "SSIM"), ("lpips", "LPIPS"), ("fid", "FID"), ("kid", "KID"),
           ("colorfulness", "CF"), ("mse_ab", "ab MSE"), ("auc", "AuC"))
FINDINGS = "## Findings\n\n<!-- To be written by the integrator from the tables and figures above. -->\n"


@functools.cache
def complexity(model: str, kwargs: str) -> tuple[float, float]:
    """(parameters in millions, GMACs at 256x256) of a generator; ``kwargs`` as JSON (hashable)."""
    from chromagen.models import create_model
    from chromagen.models.complexity import gmacs, parameters

    net = create_model(model, pretrained=False, **json.loads(kwargs)).eval()
    return parameters(net) / 1e6, gmacs(net, 1)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.{digits}g}"


def set_table(scored: dict[str, Any], train: dict[str, Any]) -> str:
    """One markdown row per trained family and per untrained start, metrics then cost."""
    gt = next(iter(scored["models"].values()))["colorfulness_gt"]
    head = [h if key != "colorfulness" else f"CF (truth {gt:.1f})" for key, h in COLUMNS]
    lines = ["| model | " + " | ".join(head) + " | params (M) | GMACs | train s | steps |",
             "|---" * (len(COLUMNS) + 5) + "|"]
    for row, values in scored["models"].items():
        record = train["families"][row.removesuffix(START)]
        params, macs = complexity(record["model"], json.dumps(record["kwargs"], sort_keys=True))
        started = row.endswith(START)
        cost = [f"{params:.2f}", f"{macs:.2f}", "-" if started else _fmt(record["wall_s"]),
                "0" if started else str(record["steps"])]
        lines.append(f"| {row} | " + " | ".join(_fmt(values.get(key)) for key, _ in COLUMNS) + " | "
                     + " | ".join(cost) + " |")
    return "\n".join(lines)


def save_accuracy_plot(sets: dict[str, Any], path: Path, note: str) -> Path:
    """Accuracy within an ab threshold versus the threshold, every trained family, one panel per set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 4), sharey=True, squeeze=False)
    for ax, (set_name, scored) in zip(axes[0], sets.items()):
        for row, curve in scored["curves"].items():
            if not row.endswith(START):
                ax.plot(curve["thresholds"], curve["accuracy"], label=f"{row} ({scored['models'][row]['auc']:.3f})")
        ax.set(title=set_name, xlabel="ab error threshold (Lab units)", xlim=(0, 150), ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    axes[0][0].set_ylabel("fraction of pixels within threshold (AuC)")
    fig.text(0.01, 0.01, note, fontsize=6, color="gray")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _square(rgb: Tensor, size: int = 256) -> Tensor:
    """(3, H, W) letterboxed (white) into size x size, so photos of any shape share one grid."""
    pad_h, pad_w = size - rgb.shape[1], size - rgb.shape[2]
    return F.pad(rgb, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=1.0)


def bench_samples(results: dict[str, Any], members: dict[str, bytes], bench_root: Path, per_set: int
                  ) -> dict[str, Tensor]:
    """gray | each stored family | truth for the first ``per_set`` photos of every stored bench set."""
    from chromagen.evaluation.runner import protocol_image

    predicted = results["predict"]
    columns: dict[str, list[Tensor]] = {}
    for set_name, rows in predicted["stored"].items():
        if set_name == "legacy":
            continue
        files = next(iter(rows.values()))[:per_set]
        size = predicted["sets"][set_name]["protocol"]["size"]
        truth = torch.stack([protocol_image(bench_root / set_name / f, size) for f in files])
        lightness = rgb_to_lab(truth)[:, :1]
        columns.setdefault("gray", []).append(compose(lightness, gray_lab(lightness)[:, 1:]))
        for row in rows:
            columns.setdefault(row, []).append(compose(lightness, stored_ab(members, set_name, row,
                                                                            range(len(files)))))
        columns.setdefault("truth", []).append(truth)
    return {name: torch.cat(parts) for name, parts in columns.items()}


def legacy_samples(results: dict[str, Any], members: dict[str, bytes], legacy_root: Path) -> dict[str, Tensor]:
    """gray | each stored family for the stored legacy photos (letterboxed squares)."""
    rows = results["predict"]["stored"].get("legacy", {})
    if not rows:
        return {}
    columns: dict[str, list[Tensor]] = {"gray": [], **{row: [] for row in rows}}
    for index, file in enumerate(next(iter(rows.values()))):
        lightness = rgb_to_lab(legacy_image(legacy_root / file)[None])[:, :1]
        columns["gray"].append(_square(compose(lightness, gray_lab(lightness)[:, 1:])[0]))
        for row in rows:
            columns[row].append(_square(compose(lightness, stored_ab(members, "legacy", row, [index]))[0]))
    return {name: torch.stack(parts) for name, parts in columns.items()}


def write_family_report(results: dict[str, Any], tars: list[Path], bench_root: Path, legacy_root: Path,
                        doc: Path, figures: Path, command: str, grid_rows: int = 2) -> Path:
    """The markdown report and its figures; every figure and table names the command and date."""
    today = datetime.date.today().isoformat()
    note = f"{command} ({today})"
    train, predicted = results["train"], results["predict"]
    members = read_tars(tars)
    figures.mkdir(parents=True, exist_ok=True)
    done = {name: r for name, r in train["families"].items() if r["status"] == "done"}
    images = {
        "Accuracy versus ab threshold (trained families; AuC in the legend)":
            save_accuracy_plot(predicted["sets"], figures / "accuracy.png", note),
        "Training loss (each recipe's own objective; GAN: generator loss)":
            save_curve_plot({n: (r["loss"]["steps"], r["loss"]["values"]) for n, r in done.items()},
                            figures / "loss.png", "training loss", "loss", yscale="log", note=note),
        "Validation PSNR during training (dB, on the training crops of val)":
            save_curve_plot({n: (r["val_psnr"]["steps"], r["val_psnr"]["values"]) for n, r in done.items()},
                            figures / "val-psnr.png", "validation PSNR", "PSNR (dB)", note=note),
    }
    samples = bench_samples(results, members, bench_root, grid_rows)
    if samples:
        images["Bench photos: gray | every family | truth"] = save_grid(samples, figures / "grid-bench.png",
                                                                        tile=128, note=note)
    legacy = legacy_samples(results, members, legacy_root)
    if legacy:
        images["Legacy photos (no truth): gray | every family"] = save_grid(legacy, figures / "grid-legacy.png",
                                                                            tile=128, note=note)
    budget = train["budget"]
    lines = [
        "# The family benchmark",
        "",
        f"Every shipped model family trained with the same data, crop {budget['crop']}, min_scale "
        f"{budget['min_scale']}, batch {budget['batch']}, seed {budget['seed']} and {budget['steps']} generator "
        f"steps (GAN recipes: as many discriminator steps besides), on {train.get('cuda') or 'CPU'}; "
        "`resnet-unet-gan` starts from this run's `resnet-unet`. `NAME@start` is the same recipe built with the "
        "same seed and not trained (pretrained encoders keep their ImageNet weights; resnet-unet-gan@start is "
        "the trained resnet-unet). Protocol: center square crop, 256x256, L from the truth, metrics on 8-bit "
        "sRGB. FID and KID from the predicted ab stored at 8 bits (a, b rounded to integers); FID is biased "
        "upward on sets under 50 photos, KID is not. Training time includes decoding, validation and "
        "checkpoints.",
        "",
        f"- train: `{train.get('command', 'n/a')}` ({train['date']})",
        f"- predict: `{predicted.get('command', 'n/a')}` ({predicted['date']}, {predicted['device']}, LPIPS "
        f"{'there' if predicted['lpips'] else 'computed by score'})",
        f"- score: `{results['score'].get('command', 'n/a')}` ({results['score']['date']})",
        f"- report: `{command}` ({today})",
        "",
    ]
    skipped = {n: r for n, r in train["families"].items() if r["status"] != "done"}
    if skipped:
        lines += ["Not trained: " + "; ".join(f"{n} ({r['status']}: {r['error']})" for n, r in skipped.items()), ""]
    if predicted.get("dropped"):
        lines += ["Predictions not stored (size limit; no FID/KID): " + ", ".join(predicted["dropped"]), ""]
    for set_name, scored in predicted["sets"].items():
        protocol = scored["protocol"]
        lines += [f"## {set_name}", "",
                  f"{next(iter(scored['models'].values()))['n']} photos scored, "
                  f"{len(protocol['skipped_files'])} skipped as gray; models run at {protocol['working_size']} "
                  f"px. Table by `{command}` ({today}).", "", set_table(scored, train), ""]
    for title, image in images.items():
        lines += [f"## {title}", "", f"![{title}]({Path(os.path.relpath(image, doc.parent)).as_posix()})",
                  "", f"Made by `{command}` ({today}).", ""]
    lines.append(FINDINGS)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines))
    return doc
