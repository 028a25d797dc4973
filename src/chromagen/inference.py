"""Colorizer: predict ab at a working resolution, recombine with the full-resolution L.

Color is low-frequency, so the network runs on a downscaled copy (``size`` = longer side, never above
the image's own) and only its ab prediction is upsampled; the original lightness keeps every fine detail
and the output keeps the exact input size and dtype.

The full-resolution steps (lightness, ab upsampling, recombination) run in horizontal bands of about
``band_pixels`` pixels, so memory stays a few bytes per pixel beyond the input and output arrays, and the
result is identical however the image is cut; the recombination bands run ``backend.workers`` at a time.
The network and the color math run on a backend (torch or ONNX Runtime, ``chromagen.backends``);
everything else here is shared by both.

``chroma`` scales the predicted ab (a saturation gain). Regression losses pull uncertain colors toward
gray, so a gain above 1, calibrated on validation photos and stored in the weights file, restores
vividness at a measured fidelity cost (``benchmarks/chroma_sweep.py``).
"""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import numpy as np

from chromagen.backends import Backend, open_backend
from chromagen.catalog import bundled_entry
from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE
from chromagen.errors import ChromagenError
from chromagen.media.image import LoadedImage
from chromagen.resample import Taps, shrink_height, shrink_width, upsample_rows, widen

if TYPE_CHECKING:
    from PIL import Image
    from torch import Tensor

    from chromagen.hints import Hint

MAX_CHROMA = 4.0
MIN_SIZE, MAX_SIZE = 32, 1024  # --size range: above 1024 px color gains nothing and memory grows fast
MIN_SIDE = 32  # the networks' coarsest stride: the working image is at least this tall and wide
BAND_PIXELS = 1 << 16  # pixels per band of full-resolution work: ~10 MB of float intermediates, cache-sized
_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
# 8-bit outputs: linear light in this many steps, then a table of sRGB levels (``Colorizer._srgb8``) instead of
# the sRGB curve on every channel. Half a step moves the 8-bit value by at most 12.92 * 255 / 65535 / 2 = 0.025
# (the curve's steepest slope), so the table's level differs from the exact one, by one, only where the exact
# value lies that close to a rounding edge (tests/test_inference.py holds such channels under 1 %).
LINEAR_STEPS = 65535
_FLOATS = (np.float16, np.float32, np.float64)
_T = TypeVar("_T")


def stored_chroma(meta: dict[str, str], model: str) -> float:
    """The saturation gain a model was calibrated with: a bundled name's catalogue ``chroma`` (entries may
    share one network at different gains), else the weights file's ``chroma`` metadata (1.0 when absent)."""
    entry = bundled_entry(model)
    value = entry.extra.get("chroma") if entry is not None else None
    value = meta.get("chroma", "1.0") if value is None else value
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ChromagenError(f"{model}: invalid chroma calibration {value!r}") from exc


def working_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """Longer side ``size`` (or the image's own, if smaller), aspect kept, each side at least MIN_SIDE."""
    longest = max(height, width)
    scale = min(size, longest) / longest
    return max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale))


def _from_pil(image: "Image.Image") -> np.ndarray:
    """A PIL image as gray or RGB pixels at its native depth (16-bit gray stays uint16; alpha dropped)."""
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if image.mode == "I":
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ChromagenError("32-bit integer image values must lie in 0..65535")
        return values.astype(np.uint16)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    return np.asarray(image.convert("L" if image.mode in ("1", "L", "LA", "La") else "RGB"))


def as_pixels(image: Any) -> np.ndarray:
    """Validate any supported input -> (H, W) gray or (H, W, 3) RGB, uint8, uint16 or float in [0, 1]."""
    from PIL import Image

    if isinstance(image, Image.Image):
        image = _from_pil(image)
    elif isinstance(image, LoadedImage):
        image = image.pixels  # native depth; its float ``rgb`` would cost 12 bytes a pixel
    elif not isinstance(image, np.ndarray):
        raise ChromagenError("an image must be a LoadedImage, a PIL image or a numpy array "
                             f"(got {type(image).__name__})")
    if image.dtype not in _SCALES and image.dtype not in _FLOATS:
        raise ChromagenError(f"image dtype {image.dtype} is not supported; use uint8, uint16 or float in [0, 1]")
    if image.ndim == 3 and image.shape[2] in (1, 3, 4):
        image = image[..., 0] if image.shape[2] == 1 else image[..., :3]
    elif image.ndim != 2:
        raise ChromagenError(f"image shape {image.shape} is not H x W (gray) or H x W x 3/4 (RGB/RGBA)")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ChromagenError(f"image is empty (shape {image.shape})")
    if image.dtype in _FLOATS:
        low, high = float(image.min()), float(image.max())  # NaN and inf propagate to these
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ChromagenError("image contains NaN or infinite values")
        if low < 0.0 or high > 1.0:
            raise ChromagenError(f"float image values must lie in [0, 1] (found {low:g} .. {high:g}); "
                                 "divide 0..255 data by 255")
    return image


def _to_unit(pixels: np.ndarray) -> np.ndarray:
    """Any supported pixel dtype -> float32 in [0, 1]."""
    scale = _SCALES.get(pixels.dtype)
    return pixels.astype(np.float32) / scale if scale else pixels.astype(np.float32)


def _from_unit(rgb: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float [0, 1] -> the caller's dtype, rounding (truncation would darken by half a level)."""
    scale = _SCALES.get(dtype)
    if scale is None:
        return np.clip(rgb, 0.0, 1.0).astype(np.float32)
    scaled = rgb * scale
    np.rint(scaled, out=scaled)
    return np.clip(scaled, 0, scale, out=scaled).astype(dtype)


def _gray_plane(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) pixels whose three channels are equal (a gray photo stored as RGB) -> their (H, W) plane.

    Checked a band at a time: a large photo needs no full-size temporary, and a color one stops at its first band."""
    if pixels.ndim != 3:
        return pixels
    rows = max(1, BAND_PIXELS // pixels.shape[1])
    for start in range(0, pixels.shape[0], rows):
        band = pixels[start:start + rows]
        if not (np.array_equal(band[..., 0], band[..., 1]) and np.array_equal(band[..., 1], band[..., 2])):
            return pixels
    return pixels[..., 0]


def _output_dtype(pixels: np.ndarray) -> np.dtype:
    return pixels.dtype if pixels.dtype in _SCALES else np.dtype(np.float32)


class Prediction(NamedTuple):
    """``Colorizer.predict``'s result: what the network made, and what ``recombine`` needs besides."""

    ab: np.ndarray  # (N, 2, h, w) Lab ab at the working resolution, saturation gain applied
    lightness: list[np.ndarray]  # each image's full-resolution normalized L (H, W)


class Colorizer:
    """A backend plus the resize-predict-recombine recipe around it: the one place L becomes color."""

    def __init__(self, backend: Backend, size: int = DEFAULT_SIZE, chroma: float = 1.0, name: str = "") -> None:
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ChromagenError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} (got {size})")
        if not 0.0 <= chroma <= MAX_CHROMA:
            raise ChromagenError(f"--chroma must be between 0 and {MAX_CHROMA:g} (got {chroma:g})")
        self.backend = backend
        self.size = size
        self.chroma = chroma
        self.name = name
        self.band_pixels = BAND_PIXELS
        self._luts: dict[np.dtype, np.ndarray] = {}
        self._srgb8_table: np.ndarray | None = None

    @classmethod
    def from_pretrained(cls, model: str = DEFAULT_MODEL, *, device: str = "auto", size: int = DEFAULT_SIZE,
                        chroma: float | None = None, backend: str = "auto", threads: int | None = None
                        ) -> "Colorizer":
        """Load a bundled model by name, an exported .onnx file, or chromagen weights / a training checkpoint.

        ``chroma`` None uses the gain calibrated into the weights file (1.0 when it has none).
        ``backend``: ``auto`` (ONNX Runtime on CPU, torch on CUDA), ``torch`` or ``onnx``.
        """
        engine = open_backend(model, backend, device, threads)
        gain = stored_chroma(engine.meta, model) if chroma is None else chroma
        return cls(engine, size, gain, name=model)

    @property
    def hint_aware(self) -> bool:
        """True when the model reads user color hints beside L (C = 4 inputs)."""
        return self.backend.in_channels > 1

    # -- the public halves and wholes -------------------------------------------------------------------

    def colorize(self, image: Any, *, hints: "Sequence[Hint] | None" = None) -> np.ndarray:
        """One image -> H x W x 3 RGB of the input's dtype (uint8, uint16; float inputs give float32).

        Color inputs are first reduced to their lightness. ``hints`` need a hint-aware model.
        """
        return self.colorize_batch([image], hints=None if hints is None else [hints])[0]

    def colorize_batch(self, images: Sequence[Any], *, hints: "Sequence[Sequence[Hint] | None] | None" = None
                       ) -> list[np.ndarray]:
        """Several images (``hints``: one list per image); those sharing a size share network calls."""
        pixels = [as_pixels(im) for im in images]
        per_image = list(hints) if hints is not None else [None] * len(pixels)
        if len(per_image) != len(pixels):
            raise ChromagenError(f"{len(per_image)} hint lists for {len(pixels)} images")
        results: list[np.ndarray | None] = [None] * len(pixels)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, p in enumerate(pixels):
            groups.setdefault(p.shape[:2], []).append(i)
        for (height, width), indices in groups.items():
            work = working_shape(height, width, self.size)
            lights = [self._lightness(pixels[i], work) for i in indices]
            ab = self._predict(np.stack([small for _, small in lights]), (height, width),
                               [per_image[i] for i in indices])
            for i, (full, _), ab_one in zip(indices, lights, ab):
                results[i] = self._recombine(full, ab_one, _output_dtype(pixels[i]))
        return [r for r in results if r is not None]

    def predict(self, images: Sequence[Any], *, hints: "Sequence[Sequence[Hint] | None] | None" = None
                ) -> Prediction:
        """The first half: ab at the first image's working resolution, with each image's full-resolution L
        (computed on the way, images side by side as in ``_per_image``), so ``recombine`` need not again."""
        pixels = [as_pixels(im) for im in images]
        if not pixels:
            raise ChromagenError("predict needs at least one image")
        shape = pixels[0].shape[:2]
        work = working_shape(*shape, self.size)
        lights = self._per_image(lambda one, workers: self._lightness(one, work, workers), pixels)
        ab = self._predict(np.stack([small for _, small in lights]), shape,
                           list(hints) if hints is not None else [None] * len(pixels))
        return Prediction(ab, [full for full, _ in lights])

    def predict_ab(self, images: Sequence[Any], *, hints: "Sequence[Sequence[Hint] | None] | None" = None
                   ) -> np.ndarray:
        """(N, 2, h, w) ab in Lab units, saturation gain applied, at the first image's working resolution."""
        return self.predict(images, hints=hints).ab

    def recombine(self, image: Any, ab: np.ndarray, *, workers: int | None = None,
                  lightness: np.ndarray | None = None) -> np.ndarray:
        """The image's full-resolution L with ``ab`` ((2, h, w) or (1, 2, h, w), Lab units) upsampled -> RGB.

        ``workers``: bands side by side (default ``backend.workers``). ``lightness``: the image's L as
        ``predict`` returned it, instead of computing it again."""
        pixels = as_pixels(image)
        ab = np.asarray(ab, dtype=np.float32)
        ab = ab[0] if ab.ndim == 4 and ab.shape[0] == 1 else ab
        if ab.ndim != 3 or ab.shape[0] != 2:
            raise ChromagenError(f"ab must be (2, h, w) or (1, 2, h, w) (got shape {ab.shape})")
        if lightness is None:
            lightness, _ = self._lightness(pixels, None, workers)
        elif lightness.shape != pixels.shape[:2]:
            raise ChromagenError(f"lightness of shape {lightness.shape} for an image of {pixels.shape[:2]}")
        return self._recombine(lightness, ab, _output_dtype(pixels), workers)

    def recombine_batch(self, images: Sequence[Any], ab: np.ndarray,
                        lightness: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
        """``recombine`` for each image, ``backend.workers`` images at a time (``_per_image``).
        ``lightness``: ``predict``'s, one per image."""
        lights = list(lightness) if lightness is not None else [None] * len(images)
        for count, what in ((len(ab), "ab predictions"), (len(lights), "lightness planes")):
            if count != len(images):
                raise ChromagenError(f"{count} {what} for {len(images)} images")
        return self._per_image(lambda job, workers: self.recombine(job[0], job[1], workers=workers, lightness=job[2]),
                               list(zip(images, ab, lights)))

    def suggest_colors(self, image: Any, ab: np.ndarray, x: float, y: float, count: int = 6
                       ) -> list[tuple[int, int, int]]:
        """Up to ``count`` distinct sRGB colors to offer for a hint at pixel (x, y), likeliest first.

        The chromas are ``chromagen.hints.suggested_ab`` of a kept prediction ``ab`` ((2, h, w), Lab units),
        each shown at the photo's own lightness there (mean of the 3 x 3 pixels around it), because a hint
        only carries chroma: these are the colors the result can show at that point.
        """
        from chromagen.hints import HintError, suggested_ab, working_cell

        pixels = as_pixels(image)
        height, width = pixels.shape[:2]
        if not (0 <= x < width and 0 <= y < height):
            raise HintError(f"point ({x:g}, {y:g}) is outside the {width}x{height} image")
        row, col = int(y), int(x)
        around = _gray_plane(pixels[max(0, row - 1):row + 2, max(0, col - 1):col + 2])
        lightness = float(self._encode_band(around).mean())
        chromas = suggested_ab(ab, *working_cell(x, y, (height, width), ab.shape[1:]), count)
        n = len(chromas)
        rgb = self.backend.decode_lab(np.full((1, 1, 1, n), lightness, np.float32), chromas.T.reshape(1, 2, 1, n))
        colors = _from_unit(rgb[0, 0], np.dtype(np.uint8))
        return list(dict.fromkeys((int(r), int(g), int(b)) for r, g, b in colors))

    def colorize_lab(self, lightness: "Tensor", hints: "Sequence[Sequence[Hint] | None] | None" = None) -> "Tensor":
        """Evaluation's entry: full-resolution L batch (N, 1, H, W) in [0, 100] -> Lab with predicted ab.

        ``hints``: one list of user colors per image (hint-aware models only).
        """
        import torch

        from chromagen.color import normalize_l

        l_norm = normalize_l(lightness.float()).cpu().numpy()
        height, width = l_norm.shape[-2:]
        h, w = working_shape(height, width, self.size)
        smalls = np.stack([shrink_height(shrink_width(np.ascontiguousarray(one[0]), w), h) for one in l_norm])
        ab = self._predict(smalls, (height, width), list(hints) if hints is not None else [None] * len(smalls))
        rows, cols = Taps.between(h, height), Taps.between(w, width)
        full = np.stack([upsample_rows(widen(one, cols), rows, 0, height) for one in ab])
        return torch.cat([lightness.float(), torch.from_numpy(full).to(lightness.device)], dim=1)

    # -- the steps ----------------------------------------------------------------------------------------

    def _per_image(self, work: Callable[[Any, int | None], _T], items: Sequence[Any]) -> list[_T]:
        """``work(item, workers)`` for each item: several items side by side, each on one thread (a film's
        frames: one small frame costs more to split than splitting saves); a lone item gets every worker."""
        workers = min(self.backend.workers, len(items))
        if workers <= 1:
            return [work(item, None) for item in items]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda item: work(item, 1), items))

    def _bands(self, height: int, width: int, workers: int = 1) -> Iterator[tuple[int, int]]:
        """Row spans of at most ``band_pixels / workers`` pixels, so the bands in flight together hold about
        ``band_pixels``; their count is a multiple of ``workers``, so no worker idles at the end."""
        count = -(-height // max(1, self.band_pixels // (workers * width)))
        step = -(-height // min(height, -(-count // workers) * workers))
        for start in range(0, height, step):
            yield start, min(height, start + step)

    def _each_band(self, work: Callable[[tuple[int, int]], None], height: int, width: int,
                   workers: int | None = None) -> None:
        """``work`` on every band, ``workers`` (default ``backend.workers``) at a time (ORT and numpy release the
        GIL), but never more at once than the bands the image needs one at a time: an image that fits one band
        keeps one thread, where the hand-offs cost more than they save."""
        workers = min(self.backend.workers if workers is None else workers, sum(1 for _ in self._bands(height, width)))
        spans = list(self._bands(height, width, workers))
        if workers == 1:
            for span in spans:
                work(span)
            return
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, spans))  # list(): re-raises a band's exception here

    def _gray_lut(self, dtype: np.dtype) -> np.ndarray:
        """Normalized L of every gray level of an integer dtype, through the backend's color graph."""
        if dtype not in self._luts:
            levels = np.arange(int(_SCALES[dtype]) + 1, dtype=np.float32) / _SCALES[dtype]
            rgb = np.broadcast_to(levels, (1, 3, 1, levels.size))
            self._luts[dtype] = self.backend.encode_lightness(rgb)[0, 0, 0]
        return self._luts[dtype]

    def _srgb8(self) -> np.ndarray:
        """The 8-bit sRGB level of each linear-light step (``LINEAR_STEPS``), through the backend's color graph."""
        if self._srgb8_table is None:
            linear = np.linspace(0.0, 1.0, LINEAR_STEPS + 1, dtype=np.float32)
            srgb = self.backend.srgb_from_linear(linear[None, None, None])[0, 0, 0]
            self._srgb8_table = _from_unit(srgb, np.dtype(np.uint8))
        return self._srgb8_table

    def _encode_band(self, band: np.ndarray) -> np.ndarray:
        """(B, W) or (B, W, 3) pixels -> (B, W) normalized L; gray integer pixels go through a lookup table.

        Callers reduce a gray photo stored as RGB to its plane first (``_gray_plane``), once per image."""
        if band.ndim == 2 and band.dtype in _SCALES:
            return np.take(self._gray_lut(band.dtype), band)  # faster than indexing with the uint8 array
        unit = _to_unit(band)
        rgb = np.broadcast_to(unit, (1, 3, *unit.shape)) if unit.ndim == 2 else unit.transpose(2, 0, 1)[None]
        return self.backend.encode_lightness(rgb)[0, 0]

    def _lightness(self, pixels: np.ndarray, work: tuple[int, int] | None, workers: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """Full-resolution normalized L (H, W), and its antialiased copy at ``work`` (h, w), band by band,
        ``workers`` bands at a time (default ``backend.workers``)."""
        height, width = pixels.shape[:2]
        full = np.empty((height, width), np.float32)
        narrow = np.empty((height, work[1]), np.float32) if work else None
        pixels = _gray_plane(pixels)
        if pixels.ndim == 2 and pixels.dtype in _SCALES:
            workers = 1  # a lookup, memory-bound: handing its bands to threads made it 2x slower (docs/runtime.md)

        def band(span: tuple[int, int]) -> None:
            start, stop = span
            full[start:stop] = self._encode_band(pixels[start:stop])
            if narrow is not None and work is not None:
                narrow[start:stop] = shrink_width(full[start:stop], work[1])

        self._each_band(band, height, width, workers)
        return full, (shrink_height(narrow, work[0]) if narrow is not None and work else None)

    def _predict(self, smalls: np.ndarray, image_hw: tuple[int, int],
                 hints: "list[Sequence[Hint] | None]") -> np.ndarray:
        """(N, h, w) normalized L (+ hint planes for hint-aware models) -> (N, 2, h, w) Lab ab with gain."""
        inputs = smalls[:, None]
        if not self.hint_aware:
            if any(hints):
                from chromagen.defaults import HINT_MODEL
                from chromagen.hints import HintError

                raise HintError(f"model {self.name!r} takes no color hints; use the bundled {HINT_MODEL!r} model")
        else:
            planes = np.stack([self._hint_planes(list(h or []), image_hw, smalls.shape[-2:]) for h in hints])
            inputs = np.concatenate([inputs, planes.astype(np.float32)], axis=1)
        return self.backend.ab_from_model(self.backend.predict_ab(inputs), self.chroma)

    def _hint_planes(self, hints: "list[Hint]", image_hw: tuple[int, int], work_hw: tuple[int, int]) -> np.ndarray:
        """One image's (3, h, w) hint input; the hint colors go through the backend's color graph."""
        from chromagen.hints import hint_planes, hint_rgb

        ab_norm = self.backend.encode_ab(hint_rgb(hints))[:, :, 0, 0] if hints else np.zeros((0, 2), np.float32)
        return hint_planes(hints, ab_norm, image_hw, work_hw)

    def _recombine(self, full: np.ndarray, ab: np.ndarray, dtype: np.dtype, workers: int | None = None
                   ) -> np.ndarray:
        """Full-resolution normalized L (H, W) + ab (2, h, w) -> (H, W, 3) RGB in ``dtype``, band by band."""
        height, width = full.shape
        rows, wide = Taps.between(ab.shape[1], height), widen(ab, Taps.between(ab.shape[2], width))
        out = np.empty((height, width, 3), dtype)

        table = self._srgb8() if dtype == np.uint8 else None

        def band(span: tuple[int, int]) -> None:
            start, stop = span
            l_norm, ab_band = full[None, None, start:stop], upsample_rows(wide, rows, start, stop)[None]
            if table is None:
                out[start:stop] = _from_unit(self.backend.decode_lab(l_norm, ab_band)[0], dtype)
            else:
                np.take(table, self.backend.decode_lab_steps(l_norm, ab_band, LINEAR_STEPS)[0], out=out[start:stop])

        self._each_band(band, height, width, workers)
        return out
