"""Score video colorization on a color clip: per-frame fidelity and temporal stability (flicker).

Each frame's lightness goes through the video pipeline (``sequence.colorize_frames``) twice: stabilized,
and with stabilization off, which is exactly what colorizing the frames one by one as images gives.
Flicker (mean |delta ab| between consecutive frames of a shot) is reported for both and for the ground
truth, whose own motion sets the floor; the ratio to the truth's is the number to watch. The
motion-compensated variant (``flicker_mc``) first warps the previous frame's colors along the optical flow
of the ground truth's lightness, so camera motion no longer counts and color that changes on an object does.
"""

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chromagen import __version__
from chromagen.color import rgb_to_lab
from chromagen.evaluation.metrics import colorfulness, psnr
from chromagen.media import video as vio
from chromagen.temporal import DEFAULT_STRENGTH, FlickerMeter, Stabilizer, to_gray


@dataclass
class Track:
    """Running per-frame scores of one rendering of the clip (stabilized, image mode, or the truth)."""

    flicker: FlickerMeter = field(default_factory=FlickerMeter)
    flicker_mc: FlickerMeter = field(default_factory=FlickerMeter)  # motion-compensated
    psnr: list[float] = field(default_factory=list)
    colorfulness: list[float] = field(default_factory=list)

    def add(self, rgb: torch.Tensor, truth: torch.Tensor, new_shot: list[bool], grays: list[np.ndarray]) -> None:
        """A batch (N, 3, H, W) in [0, 1] with its ground truth, shot-start flags and full-size gray frames."""
        self.psnr += psnr(rgb, truth).tolist()
        self.colorfulness += colorfulness(rgb).tolist()
        for ab, cut, gray in zip(rgb_to_lab(rgb)[:, 1:].numpy(), new_shot, grays):
            self.flicker.add(ab, new_shot=cut)
            self.flicker_mc.add(ab, new_shot=cut, gray=gray)


def _tensor(frames: np.ndarray) -> torch.Tensor:
    scale = 255.0 if frames.dtype == np.uint8 else 65535.0
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / scale


def _recombine(colorizer: Any, frames: np.ndarray, ab: np.ndarray) -> torch.Tensor:
    return _tensor(np.stack(colorizer.recombine_batch(list(frames), ab)))


def evaluate_video(path: Path, colorizer: Any, stabilize: float = DEFAULT_STRENGTH, limit: int | None = None,
                   batch: int = 8) -> dict[str, Any]:
    """Stabilized vs image-mode colorization of one clip, scored against its own colors."""
    info = vio.probe_video(path)
    stabilized, image_mode, truth = Track(), Track(), Track()
    smoother = Stabilizer(stabilize)
    frames = shots = 0
    for chunk in vio.read_batches(path, info, batch):
        pixels = chunk.pixels[: None if limit is None else max(0, limit - frames)]
        if not len(pixels):
            break
        target = _tensor(pixels)
        ab = colorizer.predict_ab(list(pixels))
        h, w = ab.shape[-2:]
        smoothed, cuts = [], []
        for a, f in zip(ab, pixels):
            smoothed.append(smoother.step(a, to_gray(f, h, w)))
            cuts.append(smoother.new_shot)
        full = [to_gray(f, *f.shape[:2]) for f in pixels]
        image_mode.add(_recombine(colorizer, pixels, ab), target, cuts, full)
        stabilized.add(_recombine(colorizer, pixels, np.stack(smoothed)), target, cuts, full)
        truth.add(target, target, cuts, full)
        frames, shots = frames + len(pixels), shots + sum(cuts)
    gt_flicker, gt_mc = truth.flicker.value, truth.flicker_mc.value
    rows = {}
    for name, track in (("stabilized", stabilized), ("image mode", image_mode)):
        rows[name] = {"frames": frames, "psnr": float(np.mean(track.psnr)), "flicker": track.flicker.value,
                      "flicker_gt": gt_flicker,
                      "flicker_ratio": track.flicker.value / gt_flicker if gt_flicker else None,
                      "flicker_mc": track.flicker_mc.value, "flicker_mc_gt": gt_mc,
                      "colorfulness": float(np.mean(track.colorfulness)),
                      "colorfulness_gt": float(np.mean(truth.colorfulness))}
    return {"chromagen": __version__, "date": datetime.date.today().isoformat(),
            "video": {"path": str(path), "width": info.width, "height": info.height, "frames": frames,
                      "shots": shots, "model": colorizer.name, "working_size": colorizer.size,
                      "chroma": colorizer.chroma, "stabilize": stabilize},
            "models": rows, "per_frame_psnr": {"stabilized": stabilized.psnr, "image mode": image_mode.psnr}}


def video_table(result: dict[str, Any]) -> Any:
    """A rich table: one row per rendering, fidelity and flicker side by side."""
    from rich.table import Table

    video = result["video"]
    table = Table(title=f"{video['path']}: {video['frames']} frames, {video['shots']} shots, "
                        f"model {video['model']}, stabilize {video['stabilize']:g}")
    columns = ("frames", "psnr", "flicker", "flicker_gt", "flicker_ratio", "flicker_mc", "flicker_mc_gt",
               "colorfulness", "colorfulness_gt")
    table.add_column("rendering")
    for column in columns:
        table.add_column(column, justify="right")
    for name, row in result["models"].items():
        table.add_row(name, *(str(row[c]) if isinstance(row[c], int) else
                              ("n/a" if row[c] is None else f"{row[c]:.4g}") for c in columns))
    return table
