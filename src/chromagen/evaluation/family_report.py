"""docs/family.md: the family benchmark's tables, curves and grids from ``family.py score``'s results.

Numbers are written as measured; the ``## Findings`` section is left for a person to write, and a rerun
keeps what was written there. Rows and sets may be partial (a family that did not train, ab that did not
fit the transfer cap): a missing number says why it is missing.
"""

import datetime
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from chromagen.color import gray_lab, rgb_to_lab
from chromagen.evaluation.compare import save_curve_plot
from chromagen.evaluation.family import PAIRS, START, compose, legacy_image, read_tars, stored_ab
from chromagen.evaluation.report import save_grid

COLUMNS = (("psnr", "PSNR"), ("ssim", "SSIM"), ("lpips", "LPIPS"), ("fid", "FID"), ("kid", "KID"),
           ("colorfulness", "CF"), ("mse_ab", "ab MSE"), ("auc", "AuC"))
FROM_STORED_AB = ("lpips", "fid", "kid")  # what score adds from the stored ab (LPIPS: unless predict had it)
BENCH_GRID_NOTE = ("Not committed (git-ignored): the bench photos are research data this repository does not "
                   "redistribute (docs/evaluation.md); the report command writes it.")
FINDINGS = "## Findings"
FINDINGS_PLACEHOLDER = FINDINGS + "\n\n<!-- To be written by the integrator from the tables and figures above. -->\n"


@functools.cache
def complexity(model: str, kwargs: str) -> tuple[float, float]:
    """(parameters in millions, GMACs at 256x256) of a generator; ``kwargs`` as JSON (hashable). Built without
    ImageNet weights even where the recipe asks for them (the default's ``pretrained: true``): counting needs none."""
    from chromagen.models import create_model
    from chromagen.models.complexity import gmacs, parameters

    net = create_model(model, **{**json.loads(kwargs), "pretrained": False}).eval()
    return parameters(net) / 1e6, gmacs(net, 1)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.{digits}g}"


def missing_reason(predicted: dict[str, Any], set_name: str, row: str, key: str) -> str:
    """Why ``score`` has no ``key`` (LPIPS, FID or KID) for one row of one set."""
    if row not in predicted["stored"].get(set_name, {}):
        if f"{set_name}/{row}" in predicted.get("dropped", []):
            return "over cap"
        if set_name not in predicted["stored"]:
            return "no ab kept"
        return "start: no ab" if row.endswith(START) else "ab not stored"
    scored = predicted["sets"][set_name]
    minimum = scored["protocol"].get(f"{key}_min_images", 0)
    return f"< {minimum} photos" if scored["models"][row]["n"] < minimum else "not scored"


def _cell(values: dict[str, Any], key: str, reason: Callable[[str], str]) -> str:
    """A metric, or n/a with the reason where score could not compute it."""
    if values.get(key) is None and key in FROM_STORED_AB:
        return f"n/a ({reason(key)})"
    return _fmt(values.get(key))


def set_table(predicted: dict[str, Any], set_name: str, train: dict[str, Any]) -> str:
    """One markdown row per trained family and per untrained start, metrics then cost (and, for merged
    runs, the run that trained it: wall times of different runs shared the GPU differently)."""
    scored = predicted["sets"][set_name]
    gt = next(iter(scored["models"].values()))["colorfulness_gt"]
    merged = "runs" in train
    head = [h if key != "colorfulness" else f"CF (truth {gt:.1f})" for key, h in COLUMNS]
    tail = ["params (M)", "GMACs", "train s", "steps"] + (["run"] if merged else [])
    lines = ["| model | " + " | ".join(head + tail) + " |", "|---" * (len(head) + len(tail) + 1) + "|"]
    for row, values in scored["models"].items():
        record = train["families"][row.removesuffix(START)]
        params, macs = complexity(record["model"], json.dumps(record["kwargs"], sort_keys=True))
        started = row.endswith(START)
        cost = [f"{params:.2f}", f"{macs:.2f}", "-" if started else _fmt(record["wall_s"]),
                "0" if started else str(record["steps"])] + ([str(record["run"] + 1)] if merged else [])
        reason = functools.partial(missing_reason, predicted, set_name, row)
        lines.append(f"| {row} | " + " | ".join([_cell(values, key, reason) for key, _ in COLUMNS] + cost) + " |")
    return "\n".join(lines)


def start_table(scored: dict[str, Any]) -> str:
    """Each trained family against its untrained start on one set: better when PSNR rises and ab MSE falls."""
    models = scored["models"]
    gt = next(iter(models.values()))["colorfulness_gt"]
    lines = [f"| family | PSNR start | PSNR | gain (dB) | ab MSE start | ab MSE | CF start | CF | CF / truth "
             f"({gt:.1f}) | better than its start |", "|---" * 10 + "|"]
    for row, trained in models.items():
        start = models.get(row + START)
        if start is None:
            continue
        better = trained["psnr"] > start["psnr"] and trained["mse_ab"] < start["mse_ab"]
        cells = [f"{start['psnr']:.2f}", f"{trained['psnr']:.2f}", f"{trained['psnr'] - start['psnr']:+.2f}",
                 f"{start['mse_ab']:.1f}", f"{trained['mse_ab']:.1f}", f"{start['colorfulness']:.1f}",
                 f"{trained['colorfulness']:.1f}", f"{trained['colorfulness'] / gt:.2f}", "yes" if better else "no"]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


PAIR_COLUMNS = (("psnr", "PSNR", 2), ("lpips", "LPIPS", 4), ("fid", "FID", 2), ("kid", "KID", 4),
                ("colorfulness", "CF", 1))


def _versus(first: dict[str, Any], second: dict[str, Any], key: str, digits: int) -> str:
    """``a vs b (a - b)``, or n/a where either lacks the metric."""
    a, b = first.get(key), second.get(key)
    if a is None or b is None:
        return "n/a"
    return f"{a:.{digits}f} vs {b:.{digits}f} ({a - b:+.{digits}f})"


def pair_table(sets: dict[str, Any]) -> str:
    """Every controlled pair on every set where both were scored: the family against its twin, which
    lacks only the named part; the difference is what that part does."""
    lines = ["| the family has | family vs twin | set | " + " | ".join(h for _, h, _ in PAIR_COLUMNS) + " |",
             "|---" * (3 + len(PAIR_COLUMNS)) + "|"]
    for family, twin, part in PAIRS:
        for set_name, scored in sets.items():
            models = scored["models"]
            if family in models and twin in models:
                cells = [_versus(models[family], models[twin], key, digits) for key, _, digits in PAIR_COLUMNS]
                lines.append(f"| {part} | {family} vs {twin} | {set_name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


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


def grid_layout(stored: dict[str, dict[str, list[str]]]) -> tuple[list[str], list[str]]:
    """(rows, sets) of the bench grid: the rows of the bench set that stores the most, and the sets that
    store all of them, since every column needs a photo in every grid row."""
    bench = {name: rows for name, rows in stored.items() if name != "legacy"}
    if not bench:
        return [], []
    rows = list(max(bench.values(), key=len))
    return rows, [name for name, kept in bench.items() if set(rows) <= set(kept)]


def grid_caption(stored: dict[str, dict[str, list[str]]]) -> str:
    """Which bench sets the grid shows, and which it leaves out for want of some family's ab."""
    _, sets = grid_layout(stored)
    left = [f"{name} (ab stored for {', '.join(kept)} only)" for name, kept in stored.items()
            if name not in sets and name != "legacy"]
    return f"Sets: {', '.join(sets)}" + (f"; left out: {'; '.join(left)}" if left else "") + "."


def bench_samples(results: dict[str, Any], members: dict[str, bytes], bench_root: Path, per_set: int
                  ) -> dict[str, Tensor]:
    """gray | each stored family | truth for the first ``per_set`` photos of the bench sets in the grid."""
    from chromagen.evaluation.runner import protocol_image

    predicted = results["predict"]
    rows, sets = grid_layout(predicted["stored"])
    if not sets:
        return {}
    columns: dict[str, list[Tensor]] = {name: [] for name in ("gray", *rows, "truth")}
    for set_name in sets:
        files = predicted["stored"][set_name][rows[0]][:per_set]
        size = predicted["sets"][set_name]["protocol"]["size"]
        truth = torch.stack([protocol_image(bench_root / set_name / f, size) for f in files])
        lightness = rgb_to_lab(truth)[:, :1]
        columns["gray"].append(compose(lightness, gray_lab(lightness)[:, 1:]))
        for row in rows:
            columns[row].append(compose(lightness, stored_ab(members, set_name, row, range(len(files)))))
        columns["truth"].append(truth)
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


def provenance(results: dict[str, Any], command: str, today: str) -> list[str]:
    """The commands that made the results, with dates: a train and a predict line per merged run."""
    train, predicted = results["train"], results["predict"]
    runs = list(zip(train.get("runs", [train]), predicted.get("runs", [predicted])))
    lines = []
    for index, (trained, scored) in enumerate(runs):
        label = f"run {index + 1} " if len(runs) > 1 else ""
        lines += [f"- {label}train: `{trained.get('command') or 'not recorded'}` ({trained['date']}, deadline "
                  f"{_fmt(trained.get('deadline_s'))} s, {_fmt(trained.get('parallel'))} families at once)",
                  f"- {label}predict: `{scored.get('command') or 'not recorded'}` ({scored['date']})"]
    if "merge" in train:
        lines.append(f"- merge: `{train['merge']['command']}` ({train['merge']['date']})")
    return lines + [f"- score: `{results['score'].get('command', 'n/a')}` ({results['score']['date']}; predict "
                    f"ran on {predicted['device']}, LPIPS {'there' if predicted['lpips'] else 'by score'})",
                    f"- report: `{command}` ({today})"]


def kept_findings(doc: Path) -> str:
    """The hand-written part of an earlier report, from its ``## Findings`` line on: a rerun keeps it."""
    lines = doc.read_text().splitlines(keepends=True) if doc.is_file() else []
    if FINDINGS + "\n" not in lines:
        return FINDINGS_PLACEHOLDER
    return "".join(lines[lines.index(FINDINGS + "\n"):])


def save_figures(results: dict[str, Any], members: dict[str, bytes], bench_root: Path, legacy_root: Path,
                 figures: Path, note: str, grid_rows: int) -> dict[str, tuple[Path, str]]:
    """Title -> (figure, caption) for the accuracy, loss and val-PSNR plots and the bench and legacy grids."""
    train, predicted = results["train"], results["predict"]
    done = {name: r for name, r in train["families"].items() if r["status"] == "done"}
    images = {
        "Accuracy versus ab threshold (trained families; AuC in the legend)":
            (save_accuracy_plot(predicted["sets"], figures / "accuracy.png", note), ""),
        "Training loss (each recipe's own objective; GAN: generator loss)":
            (save_curve_plot({n: (r["loss"]["steps"], r["loss"]["values"]) for n, r in done.items()},
                             figures / "loss.png", "training loss", "loss", yscale="log", note=note), ""),
        "Validation PSNR during training (dB, on the training crops of val)":
            (save_curve_plot({n: (r["val_psnr"]["steps"], r["val_psnr"]["values"]) for n, r in done.items()},
                             figures / "val-psnr.png", "validation PSNR", "PSNR (dB)", note=note), ""),
    }
    if samples := bench_samples(results, members, bench_root, grid_rows):
        images["Bench photos: gray | every family | truth"] = (
            save_grid(samples, figures / "grid-bench.jpg", tile=128, note=note),
            f"{grid_caption(predicted['stored'])} {BENCH_GRID_NOTE}")
    if legacy := legacy_samples(results, members, legacy_root):
        images["Legacy photos (no truth): gray | every family"] = (
            save_grid(legacy, figures / "grid-legacy.jpg", tile=128, note=note),
            f"Families whose legacy ab were stored: {', '.join(list(legacy)[1:])}.")
    return images


def write_family_report(results: dict[str, Any], tars: list[Path], bench_root: Path, legacy_root: Path,
                        doc: Path, figures: Path, command: str, grid_rows: int = 2) -> Path:
    """The markdown report and its figures; every figure and table names the command and date."""
    today = datetime.date.today().isoformat()
    note = f"{command} ({today})"
    train, predicted = results["train"], results["predict"]
    figures.mkdir(parents=True, exist_ok=True)
    images = save_figures(results, read_tars(tars), bench_root, legacy_root, figures, note, grid_rows)
    budget = train["budget"]
    lines = [
        "# The family benchmark",
        "",
        f"Every shipped model family trained with the same data, crop {budget['crop']}, min_scale "
        f"{budget['min_scale']}, batch {budget['batch']}, seed {budget['seed']} and {budget['steps']} generator "
        f"steps (GAN recipes: as many discriminator steps besides), on {train.get('cuda') or 'CPU'}; "
        "`resnet-unet-gan` starts from this run's `resnet-unet`. `NAME@start` is the same recipe built with the "
        "same seed and not trained (pretrained encoders keep their ImageNet weights; resnet-unet-gan@start is "
        "the untrained resnet-unet its two stages start from). Protocol: center square crop, 256x256, L from "
        "the truth, metrics on 8-bit "
        "sRGB. FID and KID from the predicted ab stored at 8 bits (a, b rounded to integers), as the protocol "
        "gives them: FID on sets of 50 photos or more (fewer bias it upward), KID on 10 or more. Training time "
        "includes decoding, validation and checkpoints.",
        "",
        "Why a number is n/a: *no ab kept*: predict keeps no ab of this set (val), so it has no LPIPS, FID or "
        "KID; *start: no ab*: the untrained starts' ab are not kept (predict --store-starts); *over cap*: this "
        "row's ab did not fit the tars' size limit (predict --total-mb); *< 50 photos*, *< 10 photos*: the "
        "protocol's minimum for FID, for KID.",
        "",
        *provenance(results, command, today),
        "",
    ]
    skipped = {n: r for n, r in train["families"].items() if r["status"] != "done"}
    if skipped:
        lines += ["Not trained: " + "; ".join(f"{n} ({r['status']}: {r['error']})" for n, r in skipped.items()), ""]
    if predicted.get("dropped"):
        lines += ["Predictions not stored (size limit; no FID/KID): " + ", ".join(predicted["dropped"]), ""]
    first = next(iter(predicted["sets"]))
    lines += [f"## Every family better than its untrained start on {first}?", "",
              f"Better: PSNR up and ab MSE down. Table by `{command}` ({today}).", "",
              start_table(predicted["sets"][first]), ""]
    for set_name, scored in predicted["sets"].items():
        protocol = scored["protocol"]
        lines += [f"## {set_name}", "",
                  f"{next(iter(scored['models'].values()))['n']} photos scored, "
                  f"{len(protocol['skipped_files'])} skipped as gray; models run at {protocol['working_size']} "
                  f"px. Table by `{command}` ({today}).", "", set_table(predicted, set_name, train), ""]
    if pairs := pair_table(predicted["sets"]):
        lines += ["## Controlled pairs", "",
                  "Each family against its twin, the same recipe without one part; the difference (in brackets) "
                  f"is what that part does. Table by `{command}` ({today}).", "", pairs, ""]
    for title, (image, caption) in images.items():
        lines += [f"## {title}", "", f"![{title}]({Path(os.path.relpath(image, doc.parent)).as_posix()})", "",
                  f"{caption} Made by `{command}` ({today}).".lstrip(), ""]
    findings = kept_findings(doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines) + "\n" + findings)
    return doc
