"""User color hints: "this point was this color", as a small record, parsed from the CLI or a JSON file,
and turned into the planes a hint-aware model reads (Zhang et al. 2017); and the chromas the web page
offers for a new hint (``suggested_ab``).

A hint keeps only the chroma (CIELAB ab) of its color: the photo's own lightness stays. Coordinates are
pixels of the input image (x right, y down, from the top-left pixel) or percentages of its width and height.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ImageColor

from chromagen.defaults import DEFAULT_PATCH
from chromagen.errors import UsageError

MAX_PATCH = 63  # working-resolution pixels; larger areas are better served by several hints
SUGGEST_RADIUS = 12  # working-resolution pixels around a point searched for other likely colors (~6 % of 192)
SUGGEST_DISTINCT = 8.0  # Lab ab distance below which two suggested colors look alike
SUGGEST_CHROMAS = (20.0, 40.0)  # Lab chroma of the suggested colors beside the prediction itself
SUGGEST_MIN_CHROMA = 2.0  # weaker predicted chroma has no meaningful hue
SUGGEST_HUE_STEP = math.radians(30)  # hues closer than this count as one


class HintError(UsageError):
    """A hint that cannot apply (bad syntax, bad color, outside the image): a usage error, not a bad file."""


@dataclass(frozen=True)
class Hint:
    """One user color: a point of the input image, an sRGB color, and the patch side it covers."""

    x: float  # pixel column of the input image (or percent of its width when ``percent``)
    y: float  # pixel row (or percent of its height)
    color: tuple[int, int, int]  # sRGB, 0..255
    patch: int = DEFAULT_PATCH  # side of the square it colors, in working-resolution pixels (odd)
    percent: bool = False

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.x, self.y)):
            raise HintError(f"hint {self}: coordinates must be finite numbers")
        if len(self.color) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in self.color):
            raise HintError(f"hint {self}: color must be three integers 0..255")
        if not (isinstance(self.patch, int) and 1 <= self.patch <= MAX_PATCH and self.patch % 2 == 1):
            raise HintError(f"hint {self}: patch must be an odd integer from 1 to {MAX_PATCH}")

    def position(self, width: int, height: int) -> tuple[float, float]:
        """(x, y) in pixels of a ``width`` x ``height`` image; outside it is a ChromagenError."""
        if self.percent:
            x, y = self.x * width / 100, self.y * height / 100
            inside = 0 <= self.x <= 100 and 0 <= self.y <= 100
        else:
            x, y = self.x, self.y
            inside = 0 <= x < width and 0 <= y < height
        if not inside:
            raise HintError(f"hint at {self.describe()} is outside the {width}x{height} image")
        return min(x, width - 1e-3), min(y, height - 1e-3)

    def describe(self) -> str:
        """The hint as the user would write it: ``40%,25%,#aa2211``."""
        unit = "%" if self.percent else ""
        return f"{self.x:g}{unit},{self.y:g}{unit},#{bytes(self.color).hex()}"


def parse_color(text: str) -> tuple[int, int, int]:
    """``#RRGGBB``, ``#RGB`` or a CSS color name -> sRGB triple; anything else is a ChromagenError."""
    try:
        rgb = ImageColor.getrgb(text.strip())
    except ValueError:
        raise HintError(f"bad hint color {text!r}; use #RRGGBB (e.g. #aa2211) or a color name") from None
    if len(rgb) != 3:
        raise HintError(f"bad hint color {text!r}: hints carry no transparency")
    return rgb[0], rgb[1], rgb[2]


def _coordinate(value: object, what: str) -> tuple[float, bool]:
    """A number of pixels, or a string ``"12.5"`` / ``"40%"`` -> (value, is_percent)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise HintError(f"bad hint {what} {value!r}: give pixels (120) or a percentage ('40%')")
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text.removesuffix("%"))
    except ValueError:
        raise HintError(f"bad hint {what} {value!r}: give pixels (120) or a percentage ('40%')") from None
    return number, percent


def make_hint(x: object, y: object, color: str, patch: int = DEFAULT_PATCH) -> Hint:
    """A hint from loosely typed values (CLI text, JSON); both coordinates must use the same unit."""
    (xv, x_pct), (yv, y_pct) = _coordinate(x, "x"), _coordinate(y, "y")
    if x_pct != y_pct:
        raise HintError(f"hint {x},{y}: give both coordinates in pixels or both in percent")
    if not isinstance(color, str):
        raise HintError(f"bad hint color {color!r}; use #RRGGBB (e.g. #aa2211) or a color name")
    return Hint(xv, yv, parse_color(color), patch, x_pct)


def parse_hint(text: str) -> Hint:
    """``"X,Y,COLOR"`` (the CLI's ``--hint``): ``120,80,#aa2211`` or ``40%,25%,#aa2211``."""
    parts = text.split(",", 2)
    if len(parts) != 3:
        raise HintError(f"bad hint {text!r}; expected X,Y,#RRGGBB (e.g. 120,80,#aa2211 or 40%,25%,red)")
    return make_hint(parts[0], parts[1], parts[2])


def load_hints(path: str | Path) -> list[Hint]:
    """A JSON file holding a list of ``{"x", "y", "color"[, "patch"]}`` objects."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HintError(f"{path}: cannot read hints ({exc})") from None
    return hints_from_json(text, str(path))


def hints_from_json(text: str, source: str) -> list[Hint]:
    """A JSON list of ``{"x", "y", "color"[, "patch"]}`` objects (a ``--hints`` file, the API's ``hints``
    field); errors start with ``source``."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HintError(f"{source}: cannot read hints ({exc})") from None
    if not isinstance(entries, list):
        raise HintError(f"{source}: expected a JSON list of {{\"x\", \"y\", \"color\"}} objects")
    hints = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {"x", "y", "color"} <= set(entry) or set(entry) - {
                "x", "y", "color", "patch"}:
            raise HintError(f"{source}: hint {i} must be an object with x, y, color and optionally patch")
        try:
            hints.append(make_hint(entry["x"], entry["y"], entry["color"], entry.get("patch", DEFAULT_PATCH)))
        except HintError as exc:
            raise HintError(f"{source}: hint {i}: {exc}") from None
    return hints


def hint_rgb(hints: list[Hint]) -> np.ndarray:
    """(K, 3, 1, 1) sRGB in [0, 1] of the hints' colors: what a backend's ``encode_ab`` takes."""
    return np.asarray([h.color for h in hints], dtype=np.float32).reshape(-1, 3, 1, 1) / 255.0


def working_cell(x: float, y: float, image_hw: tuple[int, int], work_hw: tuple[int, int]) -> tuple[int, int]:
    """(row, col) of the working-resolution pixel that image pixel (x, y), inside the image, falls in."""
    (height, width), (h, w) = image_hw, work_hw
    return min(h - 1, int(y * h / height)), min(w - 1, int(x * w / width))


def working_pixel(hint: Hint, image_hw: tuple[int, int], work_hw: tuple[int, int]) -> tuple[int, int]:
    """(row, col) of the working-resolution pixel a hint falls in (validated against the image size)."""
    height, width = image_hw
    return working_cell(*hint.position(width, height), image_hw, work_hw)


def hint_planes(hints: list[Hint], ab_norm: np.ndarray, image_hw: tuple[int, int],
                work_hw: tuple[int, int]) -> np.ndarray:
    """(3, h, w) float32 model input at the working size: normalized hint ab (0 elsewhere) and the mask.

    ``ab_norm`` (K, 2) is each hint's color in the model's ab scale (a backend's ``encode_ab`` of
    ``hint_rgb(hints)``), so the color math stays in ``chromagen.color``. Later hints overwrite earlier
    ones where their patches overlap.
    """
    h, w = work_hw
    planes = np.zeros((3, h, w), dtype=np.float32)
    for hint, ab in zip(hints, ab_norm):
        row, col = working_pixel(hint, image_hw, work_hw)
        r = hint.patch // 2
        window = np.s_[max(0, row - r):row + r + 1, max(0, col - r):col + r + 1]
        planes[0][window], planes[1][window], planes[2][window] = ab[0], ab[1], 1.0
    return planes


def _hues(window: np.ndarray, first: np.ndarray, count: int) -> list[np.ndarray]:
    """Up to ``count`` unit ab directions of ``window`` (N, 2) at least SUGGEST_HUE_STEP apart, ``first``'s first.

    Farthest-point sampling over the pixels whose chroma shows a hue at all (>= SUGGEST_MIN_CHROMA).
    """
    chroma = np.linalg.norm(window, axis=1)
    strong = chroma >= SUGGEST_MIN_CHROMA
    if not strong.any():
        return []
    units = window[strong] / chroma[strong, None]
    own = float(np.linalg.norm(first))
    hues = [first / own if own >= SUGGEST_MIN_CHROMA else window[chroma.argmax()] / chroma.max()]
    while len(hues) < count:
        angle = np.min([np.arccos(np.clip(units @ hue, -1, 1)) for hue in hues], axis=0)
        if angle.max() < SUGGEST_HUE_STEP:
            break
        hues.append(units[angle.argmax()])
    return hues


def suggested_ab(ab: np.ndarray, row: int, col: int, count: int = 6) -> np.ndarray:
    """(K <= count, 2) chromas (Lab ab) to offer for a hint at working pixel (row, col) of a prediction ``ab``.

    Regression models give one color per pixel, not Zhang's distribution, and pull uncertain colors toward
    gray. So the offer starts with the model's prediction at the point (what the result shows there), then
    its hue at the chromas SUGGEST_CHROMAS, then the same for the most different hues the model predicts
    within SUGGEST_RADIUS (other objects or shades the point may belong to). Candidates closer than
    SUGGEST_DISTINCT to one already offered are dropped, so a gray prediction offers fewer colors.
    """
    window = ab[:, max(0, row - SUGGEST_RADIUS):row + SUGGEST_RADIUS + 1,
                max(0, col - SUGGEST_RADIUS):col + SUGGEST_RADIUS + 1].reshape(2, -1).T
    point = ab[:, row, col]
    candidates = [point] + [hue * level for hue in _hues(window, point, count) for level in SUGGEST_CHROMAS]
    offered: list[np.ndarray] = []
    for candidate in candidates:
        if all(np.linalg.norm(candidate - kept) >= SUGGEST_DISTINCT for kept in offered):
            offered.append(candidate)
    return np.asarray(offered[:count], dtype=np.float32).reshape(-1, 2)
