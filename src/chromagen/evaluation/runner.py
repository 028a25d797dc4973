"""The evaluation protocol: square crops of ground truth at a fixed size, L kept, ab predicted, scored.

Default protocol (ImageNet style, as in ../shared/data/README.md): center-crop to a square, resize to
256x256, take L from the ground truth, predict ab, compose, score on 8-bit sRGB. Ground truths that are
themselves gray (mean chroma < 2) carry no color to score: they are skipped and counted.
"""

import datetime
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from chromagen import __version__
from chromagen.color import gray_lab, lab_to_rgb, rgb_to_lab
from chromagen.defaults import DEFAULT_SIZE
from chromagen.errors import ChromagenError
from chromagen.evaluation.metrics import (
    THRESHOLDS,
    ab_hit_counts,
    auc,
    colorfulness,
    curve_from_counts,
    is_gray,
    mse_ab,
    psnr,
    quantize8,
    ssim,
)
from chromagen.hints import DEFAULT_PATCH, Hint
from chromagen.media.image import IMAGE_EXTENSIONS, load_image, to_depth
from chromagen.media.walker import IMAGE, walk

GRAY_MODEL = "gray"
FID_MIN_IMAGES = 50
KID_MIN_IMAGES = 10  # KID is unbiased at any n, so small sets (Kodak24, McMaster) get it; FID needs more


@dataclass
class Protocol:
    """How ground truth becomes model input; recorded in every result file."""

    size: int = 256
    working_size: int | None = None  # resolution the model runs at; None = the colorizer's default
    chroma: float | None = None  # saturation gain on predicted ab; None = each model's calibrated gain
    gray_threshold: float = 2.0
    limit: int | None = None
    batch_size: int = 8
    hints: list[int] | None = None  # hint-aware models run once per count of ground-truth hints
    hint_seed: int = 0
    hint_patch: int = DEFAULT_PATCH  # side of each hint's square, in working-resolution pixels
    fast: bool = False  # PSNR, ab MSE, colorfulness (and hint ab error) only: no SSIM, LPIPS, FID or AuC
    fid: bool = True  # False where the Inception weights are absent (FID is then computed elsewhere)
    lpips: bool = True  # False where the AlexNet weights are absent


@dataclass
class ModelTally:
    """Running sums for one model over the evaluated images."""

    per_image: dict[str, list[float]] = field(default_factory=dict)
    hits: Tensor | None = None
    totals: Tensor | None = None
    features: list[Tensor] = field(default_factory=list)
    chroma: float | None = None  # the saturation gain the model ran with (None for gray)

    def add(self, name: str, values: Tensor) -> None:
        self.per_image.setdefault(name, []).extend(values.double().cpu().tolist())

    def add_counts(self, hits: Tensor, totals: Tensor) -> None:
        self.hits = hits if self.hits is None else self.hits + hits
        self.totals = totals if self.totals is None else self.totals + totals


def list_images(data: Path, limit: int | None) -> list[Path]:
    """Image files under ``data`` (recursive, sorted), the first ``limit`` of them."""
    if not data.is_dir():
        raise ChromagenError(f"{data}: not a folder")
    found = walk([data], kinds={IMAGE: IMAGE_EXTENSIONS})
    if found.problems:  # a score over part of a set is not that set's score
        raise ChromagenError(found.problems[0])
    files = [item.path for item in found.items]
    if not files:
        raise ChromagenError(f"{data}: no images found")
    return files[:limit]


def protocol_image(path: Path, size: int) -> Tensor:
    """Center square crop resized to ``size`` (bicubic), 8-bit quantized: (3, size, size) in [0, 1]."""
    image = Image.fromarray(to_depth(load_image(path).pixels, np.uint8))
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(square, dtype=np.float32) / 255.0).permute(2, 0, 1)


Predict = Callable[[Tensor, list[list[Hint]] | None], Tensor]  # (L (N,1,H,W), hints per image) -> Lab
OnPredictions = Callable[[str, list[Path], Tensor], None]  # (result row, files, predicted Lab (N,3,S,S) on CPU)


@dataclass
class Predictor:
    """One row of results: a model, its saturation gain, and how many ground-truth hints it gets."""

    predict: Predict
    chroma: float | None  # None for gray
    hints: int | None = None  # None: an automatic model (or the hint model with no hint at all)


def make_predictors(name: str, spec: str, device: str, working_size: int, chroma: float | None = None,
                    hint_counts: list[int] | None = None) -> dict[str, Predictor]:
    """``gray`` (ab = 0) or any model the Colorizer loads -> its result rows: one, or one per hint count
    for hint-aware models when ``hint_counts`` are given (named ``NAME +N hints``)."""
    if spec == GRAY_MODEL:
        return {name: Predictor(lambda lightness, _: gray_lab(lightness), None)}
    from chromagen.inference import Colorizer

    colorizer = Colorizer.from_pretrained(spec, device=device, size=working_size, chroma=chroma, backend="torch")
    if not (colorizer.hint_aware and hint_counts):
        return {name: Predictor(colorizer.colorize_lab, colorizer.chroma)}
    return {f"{name} +{n} hints": Predictor(colorizer.colorize_lab, colorizer.chroma, n) for n in hint_counts}


def ground_truth_hints(truth: Tensor, count: int, indices: list[int], seed: int, patch: int = 1,
                       working_size: int | None = None) -> list[list[Hint]]:
    """``count`` points per image, uniform over it, each revealing the truth's mean color over the square
    its ``patch`` covers at ``working_size`` (as the hint model's training simulates users).

    Seeded by (seed, the image's index), so every model and every count sees the same points, and the
    points of a smaller count are the first ones of a larger count.
    """
    size = truth.shape[-1]
    reach = patch * size // (2 * (working_size or size))  # half the patch's footprint, in truth pixels
    hints = []
    for image, index in zip(truth, indices):
        points = np.random.default_rng([seed, index]).integers(0, size, size=(count, 2)).tolist()
        colors = [(image[:, max(0, y - reach):y + reach + 1, max(0, x - reach):x + reach + 1].mean(dim=(1, 2))
                   * 255).round().int().tolist() for y, x in points]
        hints.append([Hint(float(x), float(y), (r, g, b), patch) for (y, x), (r, g, b) in zip(points, colors)])
    return hints


def hinted_ab_error(pred: Tensor, truth: Tensor, hints: list[list[Hint]]) -> Tensor:
    """Per image, the mean ab distance (Lab units) between result and truth at its hinted pixels."""
    pred_ab, truth_ab = rgb_to_lab(pred)[:, 1:], rgb_to_lab(truth)[:, 1:]
    errors = []
    for i, image_hints in enumerate(hints):
        rows = torch.tensor([int(h.y) for h in image_hints])
        cols = torch.tensor([int(h.x) for h in image_hints])
        errors.append((pred_ab[i, :, rows, cols] - truth_ab[i, :, rows, cols]).norm(dim=0).mean())
    return torch.stack(errors)


def protocol_batches(files: list[Path], protocol: Protocol) -> Iterator[tuple[list[Path], Tensor]]:
    """The files in chunks of ``protocol.batch_size``, with their ground truth as the protocol prepares it."""
    for start in range(0, len(files), protocol.batch_size):
        chunk = files[start:start + protocol.batch_size]
        yield chunk, torch.stack([protocol_image(p, protocol.size) for p in chunk])


def evaluate(models: dict[str, str] | list[str], data: Path, protocol: Protocol, device: str = "cpu",
             samples: int = 6, progress: Callable[[int], None] | None = None,
             on_predictions: OnPredictions | None = None) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Score each model on the same images; returns the JSON-ready result and sample images for a grid.

    ``models`` maps display names to model specs (a list uses each spec as its own name). The samples
    dict holds (K, 3, S, S) tensors keyed ``input`` (gray), each model name, and ``truth``.
    ``on_predictions`` receives every scored batch's predicted Lab (to store it, e.g. for FID elsewhere).
    Metrics run on ``device``: on a GPU the CPU would otherwise be the bottleneck.
    """
    if isinstance(models, list):
        models = {spec: spec for spec in models}
    if protocol.lpips and not protocol.fast:  # imported only when used: a training machine may lack lpips
        from chromagen.evaluation.lpips_offline import lpips_distance

    files = list_images(data, protocol.limit)
    working = protocol.working_size or DEFAULT_SIZE
    predictors = {row: predictor for name, spec in models.items()
                  for row, predictor in make_predictors(name, spec, device, working, protocol.chroma,
                                                        protocol.hints).items()}
    tallies = {name: ModelTally(chroma=predictor.chroma) for name, predictor in predictors.items()}
    want_features = len(files) >= KID_MIN_IMAGES and not protocol.fast and protocol.fid  # Inception, for KID/FID
    truth_features: list[Tensor] = []
    kept: list[str] = []
    skipped: list[str] = []
    samples_out: dict[str, list[Tensor]] = {"input": [], **{m: [] for m in predictors}, "truth": []}
    truth_colorfulness: list[float] = []
    offset = 0
    for chunk, truth in protocol_batches(files, protocol):
        gray = is_gray(truth, protocol.gray_threshold)
        indices = [offset + i for i, g in enumerate(gray.tolist()) if not g]
        offset += len(chunk)
        skipped += [str(p) for p, g in zip(chunk, gray) if g]
        chunk, truth = [p for p, g in zip(chunk, gray) if not g], truth[~gray]
        if progress:
            progress(int(gray.sum()))
        if not chunk:
            continue
        kept += [str(p) for p in chunk]
        truth_colorfulness += colorfulness(truth).tolist()
        lightness = rgb_to_lab(truth)[:, :1]
        room = max(0, samples - sum(len(t) for t in samples_out["truth"]))
        samples_out["truth"].append(truth[:room])
        samples_out["input"].append(quantize8(lab_to_rgb(gray_lab(lightness)))[:room])
        if want_features:
            truth_features.append(_features(truth, device))
        truth_on = truth.to(device)
        for name, predictor in predictors.items():
            hints = ground_truth_hints(truth, predictor.hints, indices, protocol.hint_seed, protocol.hint_patch,
                                       working) if predictor.hints else None
            lab = predictor.predict(lightness.to(device), hints)
            if on_predictions:
                on_predictions(name, chunk, lab.cpu())
            pred = quantize8(lab_to_rgb(lab))
            tally = tallies[name]
            if hints:
                tally.add("hint_ab_error", hinted_ab_error(pred.cpu(), truth, hints))
            tally.add("psnr", psnr(pred, truth_on))
            tally.add("mse_ab", mse_ab(pred, truth_on))
            tally.add("colorfulness", colorfulness(pred))
            if not protocol.fast:
                tally.add("ssim", ssim(pred, truth_on))
                if protocol.lpips:
                    tally.add("lpips", lpips_distance(pred, truth_on))
                tally.add_counts(*ab_hit_counts(pred, truth_on))
            if want_features:
                tally.features.append(_features(pred, device))
            samples_out[name].append(pred[:room].cpu())
        if progress:
            progress(len(chunk))
    if not kept:
        raise ChromagenError(f"{data}: every image is gray; nothing to score")
    result = _summarize(list(predictors), tallies, kept, skipped, truth_colorfulness, truth_features, data, protocol,
                        device)
    return result, {k: torch.cat(v) for k, v in samples_out.items()}


def _features(images: Tensor, device: str) -> Tensor:
    from chromagen.evaluation.fid import inception_features

    return inception_features(images.to(device))


def fid_kid(ours: Tensor, truth: Tensor, fid_min: int = FID_MIN_IMAGES,
            kid_min: int = KID_MIN_IMAGES) -> dict[str, float | None]:
    """FID and KID of a model's Inception features against the truth's, each None below its minimum photo
    count (KID is unbiased at small n, FID is not; a stored protocol may record other minimums)."""
    from chromagen.evaluation.fid import fid, kid  # only where FID runs: the Inception wheel may be absent

    return {"fid": fid(ours, truth) if len(truth) >= fid_min else None,
            "kid": kid(ours, truth) if len(truth) >= kid_min else None}


def _summarize(models: list[str], tallies: dict[str, ModelTally], kept: list[str], skipped: list[str],
               truth_colorfulness: list[float], truth_features: list[Tensor], data: Path,
               protocol: Protocol, device: str) -> dict[str, Any]:
    """Averages per model plus per-image rows and accuracy curves, in the documented JSON schema."""
    cf_gt = float(np.mean(truth_colorfulness))
    summary: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    images: list[dict[str, Any]] = []
    for name in models:
        tally = tallies[name]
        plain = curve_from_counts(tally.hits, tally.totals) if tally.hits is not None else None
        rebalanced = curve_from_counts(tally.hits, tally.totals, rebalanced=True) if tally.hits is not None else None
        means = {k: float(np.mean(v)) for k, v in tally.per_image.items()}
        summary[name] = {
            "n": len(kept),
            "skipped": len(skipped),
            "chroma": tally.chroma,
            **{k: means.get(k) for k in ("psnr", "ssim", "lpips")},  # --fast: no SSIM, LPIPS
            **(fid_kid(torch.cat(tally.features), torch.cat(truth_features)) if tally.features
               else {"fid": None, "kid": None}),
            "colorfulness": means["colorfulness"],
            "colorfulness_gt": cf_gt,
            "delta_colorfulness": abs(means["colorfulness"] - cf_gt),
            "mse_ab": means["mse_ab"],
            "auc": auc(plain) if plain is not None else None,
            "auc_rebalanced": auc(rebalanced) if rebalanced is not None else None,
            "hint_ab_error": means.get("hint_ab_error"),  # hint-aware models given ground-truth hints
        }
        if plain is not None and rebalanced is not None:
            curves[name] = {"thresholds": list(THRESHOLDS), "accuracy": plain.tolist(),
                            "accuracy_rebalanced": rebalanced.tolist()}
        for i, file in enumerate(kept):
            images.append({"file": file, "model": name, **{k: v[i] for k, v in tally.per_image.items()},
                           "colorfulness_gt": truth_colorfulness[i]})
    protocol_info = {
        **asdict(protocol),
        "working_size": protocol.working_size or DEFAULT_SIZE,
        "data": str(data),
        "crop": "center square",
        "resize": "bicubic",
        "l_from": "ground truth",
        "metrics_on": "8-bit sRGB",
        "gray_skip": f"mean Lab chroma < {protocol.gray_threshold}",
        "skipped_files": skipped,
        "fid_min_images": FID_MIN_IMAGES,
        "kid_min_images": KID_MIN_IMAGES,
        "device": device,
        "chromagen": __version__,
        "date": datetime.date.today().isoformat(),
    }
    return {"protocol": protocol_info, "models": summary, "images": images, "curves": curves}
