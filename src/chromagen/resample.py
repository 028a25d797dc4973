"""The two resizes of the Colorizer, shared by every backend and computable band by band.

Lightness goes down to the working resolution with Pillow's antialiased bilinear filter (the filter
torch's ``antialias=True`` reproduces); predicted ab comes back up with plain bilinear interpolation
(half-pixel centers, PyTorch's ``align_corners=False``). Both run on horizontal bands of rows, so a
100-megapixel photo never needs more than one band of float intermediates, and a band's result does not
depend on how the image was cut.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image


def shrink_width(rows: np.ndarray, width: int) -> np.ndarray:
    """Antialiased horizontal resize of a band (B, W) float32 -> (B, width): rows are independent."""
    return np.asarray(Image.fromarray(rows, "F").resize((width, rows.shape[0]), Image.Resampling.BILINEAR))


def shrink_height(columns: np.ndarray, height: int) -> np.ndarray:
    """Antialiased vertical resize (H, w) float32 -> (height, w); Pillow's second pass, run on its own."""
    return np.asarray(Image.fromarray(columns, "F").resize((columns.shape[1], height), Image.Resampling.BILINEAR))


@dataclass(frozen=True)
class Taps:
    """Bilinear upsampling from ``n_in`` to ``n_out`` samples: two source indices and a weight per output."""

    low: np.ndarray  # int64 (n_out,)
    high: np.ndarray  # int64 (n_out,)
    weight: np.ndarray  # float32 (n_out,), weight of ``high``

    @classmethod
    def between(cls, n_in: int, n_out: int) -> "Taps":
        """Half-pixel centers, clamped at the borders (as ``F.interpolate(..., align_corners=False)``)."""
        src = np.maximum((np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        low = np.minimum(src.astype(np.int64), n_in - 1)
        return cls(low, np.minimum(low + 1, n_in - 1), (src - low).astype(np.float32))


def widen(ab: np.ndarray, cols: Taps) -> np.ndarray:
    """The bilinear upsampling's column pass, once per image: (C, h, w) -> (C, h, W), the small image at full
    width. Columns first, because the gathers across a row are the costly part and the small image has far
    fewer rows than the output; ``upsample_rows`` then only blends whole rows of it."""
    out = np.take(ab, cols.low, axis=2)
    step = np.take(ab, cols.high, axis=2)
    np.subtract(step, out, out=step)
    step *= cols.weight
    out += step
    return out


def upsample_rows(wide: np.ndarray, rows: Taps, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of the bilinear upsampling to (C, H, W), from ``widen``'s (C, h, W) -> (C, stop - start,
    W), C-contiguous (ready for ONNX Runtime without a copy)."""
    out = wide[:, rows.low[start:stop]]
    step = wide[:, rows.high[start:stop]]
    np.subtract(step, out, out=step)
    step *= rows.weight[start:stop, None]
    out += step
    return out
