"""The server's only way to color: ``Colorizer.predict_ab`` then ``Colorizer.recombine``.

Splitting the pipeline in its two halves is what makes the page's sliders fast: the predicted ab of an
upload is kept, and a new saturation only re-runs the full-resolution recombination. Colorizers are
loaded once per (model, size) with gain 1, so each request applies its own gain to the kept prediction.
Color hints change the prediction itself, so a new set of hints re-runs the network at the working size.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterable
from itertools import chain
from pathlib import Path

import numpy as np

from chromagen.defaults import HINT_MODEL
from chromagen.errors import ChromagenError
from chromagen.hints import Hint
from chromagen.inference import Colorizer
from chromagen.media.image import LoadedImage, save_image, save_pages
from chromagen.server.catalogue import ModelInfo

OUTPUT_FORMATS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "tiff": ".tif"}
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "tiff": "image/tiff"}
LOADED_COLORIZERS = 4  # (model, size, gain) colorizers kept in memory


class Engine:
    """Loaded colorizers, shared by the worker threads (inference itself is thread-safe)."""

    def __init__(self, catalogue: dict[str, ModelInfo], device: str) -> None:
        self.catalogue = catalogue
        self.device = device
        self._colorizers: OrderedDict[tuple[str, int, float], Colorizer] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def default(self) -> str:
        """The server's model: the catalogue's first."""
        return next(iter(self.catalogue))

    def model(self, name: str) -> ModelInfo:
        if name not in self.catalogue:
            raise ChromagenError(f"unknown model {name!r}; this server offers {', '.join(self.catalogue)}")
        return self.catalogue[name]

    def pick(self, requested: str | None, hinted: bool) -> str:
        """The requested model, else the hint-aware one when there are hints (as the CLI does), else the default.

        A requested model that reads no hints is kept: the Colorizer then refuses the hints (422).
        """
        if requested:
            return self.model(requested).name
        return HINT_MODEL if hinted and not self.model(self.default).hints else self.default

    def colorizer(self, name: str, size: int, gain: float = 1.0) -> Colorizer:
        """Load on first use (under a lock, so concurrent requests load once); least recently used goes first.

        Images get gain 1 and apply their own to the kept prediction; sequences (video, animation) use the
        Colorizer whole and ask for the model's calibrated gain.
        """
        key = (name, size, gain)
        with self._lock:
            if key not in self._colorizers:
                self._colorizers[key] = Colorizer.from_pretrained(self.model(name).source, device=self.device,
                                                                  size=size, chroma=gain)
                if len(self._colorizers) > LOADED_COLORIZERS:
                    self._colorizers.popitem(last=False)
            self._colorizers.move_to_end(key)
            return self._colorizers[key]

    def predict(self, image: LoadedImage, name: str, size: int, hints: tuple[Hint, ...] = ()) -> np.ndarray:
        """Predicted ab (2, h, w) at the working resolution, gain 1, with the user's color hints if any."""
        return self.colorizer(name, size).predict_ab([image.pixels], hints=[hints] if hints else None)[0]

    def _gain(self, name: str, chroma: float | None) -> np.float32:
        """``chroma``, or the model's calibrated gain when None."""
        return np.float32(self.model(name).chroma if chroma is None else chroma)

    def render(self, image: LoadedImage, ab: np.ndarray, name: str, size: int, chroma: float | None) -> np.ndarray:
        """Full-resolution RGB from a kept prediction; ``chroma`` None uses the model's calibrated gain."""
        return self.colorizer(name, size).recombine(image.pixels, ab * self._gain(name, chroma))

    def suggest(self, image: LoadedImage, ab: np.ndarray, name: str, size: int, point: tuple[float, float],
                count: int) -> list[str]:
        """``#rrggbb`` colors to offer for a hint at ``point`` (x, y), from a kept prediction at gain 1.

        Gain 1, because the render scales the hinted prediction by the gain again: the first suggestion then
        leaves the result at that point as it was, whatever the saturation slider says.
        """
        colors = self.colorizer(name, size).suggest_colors(image.pixels, ab, *point, count)
        return [f"#{bytes(color).hex()}" for color in colors]

    def colorize(self, image: LoadedImage, name: str, size: int, chroma: float | None,
                 hints: tuple[Hint, ...] = ()) -> np.ndarray:
        """One request, nothing kept: the lightness computed for the prediction serves the recombination."""
        colorizer = self.colorizer(name, size)
        ab, lightness = colorizer.predict([image.pixels], hints=[hints] if hints else None)
        return colorizer.recombine(image.pixels, ab[0] * self._gain(name, chroma), lightness=lightness[0])


def output_format(requested: str | None, source: Path) -> str:
    """The requested format, else the upload's own when we can write it, else PNG."""
    if requested:
        return requested
    by_suffix = {ext: fmt for fmt, ext in OUTPUT_FORMATS.items()} | {".jpeg": "jpeg", ".tiff": "tiff"}
    return by_suffix.get(source.suffix.lower(), "png")


def encode(rgb: np.ndarray, image: LoadedImage, fmt: str, folder: Path, quality: int = 92) -> bytes:
    """The colorized image as file bytes, written by the media layer (metadata and alpha kept as the CLI does)."""
    return _taken(save_image(rgb, folder / f"colorized{OUTPUT_FORMATS[fmt]}", alpha=image.alpha, overwrite=True,
                             quality=quality, meta=image.meta))


def encode_pages(rgb: np.ndarray, image: LoadedImage, rest: Iterable[tuple[np.ndarray, np.ndarray | None]],
                 folder: Path) -> bytes:
    """A multi-page TIFF: the first page (``image``'s alpha and metadata) then ``rest`` ((rgb, alpha) each),
    colorized and written one page at a time, as ``chromagen colorize`` writes a multi-page scan."""
    return _taken(save_pages(chain([(rgb, image.alpha)], rest), folder / "colorized.tif", overwrite=True,
                             meta=image.meta))


def _taken(path: Path) -> bytes:
    """A written file's bytes, the file removed."""
    try:
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
