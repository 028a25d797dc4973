"""Temporal stability for frame sequences: scene cuts, flow-guided smoothing of ab, and a flicker metric.

A colorizer that sees each frame alone picks slightly different colors for the same object from one frame
to the next: the video flickers. ``Stabilizer`` carries the colors already shown forward along the optical
flow (OpenCV's DIS, no weights) and blends them with each new prediction, trusting them less where the
warped lightness disagrees with the frame (occlusions, new content) and not at all across a scene cut, so
one shot's colors never smear into the next. Everything here works on arrays at the working resolution
of the prediction; no codec is involved.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from chromagen.errors import ChromagenError

# Mean absolute difference (0-255 gray levels) between a frame and its flow-warped predecessor above
# which the two frames belong to different shots: motion inside a shot is explained by the flow
# (a few levels of residual), a cut is not (tens of levels). Measured in docs/video.md.
CUT_RESIDUAL = 18.0
# Trust in the carried colors: the weight of the warped previous ab where the warp is exact.
DEFAULT_STRENGTH = 0.7
# Gray-level residual at which the trust in a warped pixel falls to 1/e (occlusions, new content).
OCCLUSION_SCALE = 12.0


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise ChromagenError("video stabilization needs OpenCV: pip install 'chromagen[video]'") from exc
    return cv2


def to_gray(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """An RGB frame (uint8 or uint16) -> uint8 gray at the prediction's working size, for flow and cuts."""
    cv2 = _cv2()
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


class Flow:
    """Dense optical flow between consecutive gray frames (DIS, fast preset) and warping along it."""

    def __init__(self) -> None:
        cv2 = _cv2()
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._grid: np.ndarray | None = None

    def warp_from(self, prev_gray: np.ndarray, gray: np.ndarray, *planes: np.ndarray) -> list[np.ndarray]:
        """Resample ``prev_gray`` and each H x W (x C) plane of the previous frame onto the current one."""
        cv2 = _cv2()
        flow = self._dis.calc(gray, prev_gray, None)  # for each current pixel: where it was before
        h, w = gray.shape
        if self._grid is None or self._grid.shape[:2] != (h, w):
            self._grid = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        coords = self._grid + flow
        return [cv2.remap(p, coords[..., 0], coords[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                for p in (prev_gray, *planes)]


def residual(gray: np.ndarray, warped: np.ndarray) -> np.ndarray:
    """Per-pixel absolute gray difference after warping, float32."""
    return np.abs(gray.astype(np.float32) - warped.astype(np.float32))


@dataclass
class StabilizerState:
    """What carries over from one frame to the next (saved with a film's checkpoints)."""

    gray: np.ndarray  # h x w uint8, the last frame
    ab: np.ndarray  # 2 x h x w float32, the ab shown for it


def check_strength(strength: float) -> float:
    """``strength`` when it is in [0, 1) (1 would freeze the first frame's colors forever), else an error."""
    if not 0.0 <= strength < 1.0:
        raise ChromagenError(f"--stabilize must be in [0, 1) (got {strength:g})")
    return strength


class Stabilizer:
    """Scene-cut-aware, flow-guided exponential smoothing of predicted ab, one frame at a time.

    ``strength`` 0 leaves every prediction as it is (image mode) but still detects cuts (``new_shot``).
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH, cut_residual: float = CUT_RESIDUAL) -> None:
        self.strength = check_strength(strength)
        self.cut_residual = cut_residual
        self.state: StabilizerState | None = None
        self.new_shot = True  # whether the last frame started a shot (the first frame does)
        self._flow = Flow()

    def step(self, ab: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """Smooth one frame's predicted ab (2 x h x w) given its gray frame (h x w uint8)."""
        out, self.new_shot = ab, True
        if self.state is not None and self.state.gray.shape == gray.shape:
            prev_ab = np.ascontiguousarray(self.state.ab.transpose(1, 2, 0))
            warped_gray, warped_ab = self._flow.warp_from(self.state.gray, gray, prev_ab)
            err = residual(gray, warped_gray)
            self.new_shot = float(err.mean()) > self.cut_residual
            if not self.new_shot and self.strength > 0:
                trust = (self.strength * np.exp(-err / OCCLUSION_SCALE))[None]
                out = (trust * warped_ab.transpose(2, 0, 1) + (1.0 - trust) * ab).astype(np.float32)
        self.state = StabilizerState(gray=gray, ab=out)
        return out

    def __call__(self, ab: np.ndarray, grays: np.ndarray) -> np.ndarray:
        """A batch: (N, 2, h, w) ab and (N, h, w) gray frames, in display order."""
        return np.stack([self.step(a, g) for a, g in zip(ab, grays)])


class FlickerMeter:
    """Mean |delta ab| (Lab units) between consecutive frames, fed one frame at a time; cuts excluded.

    Compare a colorization's value with the ground truth's on the same clip: motion moves colors too,
    so the truth's own value is the floor a stable colorization approaches, not zero. With ``gray``
    frames given, the previous ab is first warped along the optical flow (motion-compensated flicker):
    what is left is color that changed on the object itself.
    """

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None
        self._flow: Flow | None = None
        self._total = 0.0
        self.pairs = 0

    def add(self, ab: np.ndarray, new_shot: bool = False, gray: np.ndarray | None = None) -> None:
        """One frame's ab (2 x h x w); ``new_shot`` when a cut separates it from the previous frame."""
        if self._prev is not None and not new_shot:
            prev = self._prev
            if gray is not None and self._prev_gray is not None:
                self._flow = self._flow or Flow()
                _, warped = self._flow.warp_from(self._prev_gray, gray, np.ascontiguousarray(prev.transpose(1, 2, 0)))
                prev = warped.transpose(2, 0, 1)
            self._total += float(np.abs(ab - prev).mean())
            self.pairs += 1
        self._prev, self._prev_gray = ab, gray

    @property
    def value(self) -> float:
        return self._total / self.pairs if self.pairs else 0.0


def flicker(ab: np.ndarray, cuts: list[int] | None = None) -> float:
    """``FlickerMeter`` over a whole (N, 2, h, w) array; ``cuts``: indices of frames that start a shot."""
    meter, skip = FlickerMeter(), set(cuts or ())
    for i, frame in enumerate(ab):
        meter.add(frame, new_shot=i in skip)
    return meter.value
