"""Colorizer: predict ab at a working resolution, recombine with the full-resolution L.

Color is low-frequency, so the network runs on a downscaled copy (``size`` = longer side) and only its ab
prediction is upsampled; the original lightness keeps every fine detail and the output keeps the exact
input size.

``chroma`` scales the predicted ab (a saturation gain). Regression losses pull uncertain colors toward
gray, so a gain above 1, calibrated on validation photos and stored in the weights file, restores
vividness at a measured fidelity cost (``benchmarks/chroma_sweep.py``).
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.color import denormalize_ab, lab_to_rgb, normalize_l, rgb_to_lab
from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE, HINT_MODEL
from chromagen.errors import ChromagenError
from chromagen.hints import Hint, HintError, hint_planes
from chromagen.media.image import LoadedImage
from chromagen.models.registry import predict_ab
from chromagen.models.weights import bundled_names, bundled_path, load_generator


MAX_CHROMA = 4.0


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is a user error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ChromagenError("--device cuda requested but no CUDA GPU is available")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ChromagenError(f"unknown device {device!r}; use auto, cpu or cuda")
    return torch.device(device)


def resolve_model_path(model: str) -> Path:
    """A bundled model name (``default``) or a path to .safetensors / .ckpt."""
    if model in bundled_names():
        return bundled_path(model)
    path = Path(model)
    if path.is_file():
        return path
    raise ChromagenError(f"model {model!r} is neither a bundled model ({', '.join(bundled_names())}) nor a file")


def stored_chroma(meta: dict[str, str], path: Path) -> float:
    """The saturation gain a weights file was calibrated with (``chroma`` metadata; 1.0 when absent)."""
    try:
        return float(meta.get("chroma", "1.0"))
    except ValueError as exc:
        raise ChromagenError(f"{path}: invalid chroma metadata {meta['chroma']!r}") from exc


def working_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """Scale so the longer side equals ``size``, keeping the aspect ratio (at least 8 px a side)."""
    scale = size / max(height, width)
    return max(8, round(height * scale)), max(8, round(width * scale))


class Colorizer:
    """A loaded generator plus the resize-predict-recombine recipe around it."""

    def __init__(self, model: nn.Module, device: torch.device, size: int = DEFAULT_SIZE, name: str = "",
                 chroma: float = 1.0) -> None:
        if size < 16:
            raise ChromagenError(f"--size must be at least 16 (got {size})")
        if not 0.0 <= chroma <= MAX_CHROMA:
            raise ChromagenError(f"--chroma must be between 0 and {MAX_CHROMA:g} (got {chroma:g})")
        self.model = model.to(device).eval()
        self.device = device
        self.size = size
        self.name = name
        self.chroma = chroma
        self.hint_aware = getattr(model, "in_channels", 1) > 1  # reads L + hint ab + hint mask

    @classmethod
    def from_pretrained(cls, model: str = DEFAULT_MODEL, device: str = "auto", size: int = DEFAULT_SIZE,
                        chroma: float | None = None) -> "Colorizer":
        """Load a bundled model by name or any chromagen weights file / training checkpoint.

        ``chroma`` None uses the gain calibrated into the weights file (1.0 when it has none).
        """
        path = resolve_model_path(model)
        generator, meta = load_generator(path)
        gain = stored_chroma(meta, path) if chroma is None else chroma
        return cls(generator, resolve_device(device), size, name=model, chroma=gain)

    @torch.inference_mode()
    def predict_ab(self, l_norm: Tensor) -> Tensor:
        """Normalized L batch -> normalized ab batch (classification models decode their logits)."""
        return predict_ab(self.model, l_norm.to(self.device)).float()

    def model_input(self, small: Tensor, image_hw: tuple[int, int], hints: Sequence[list[Hint]] | None) -> Tensor:
        """Working-size normalized L, plus for hint-aware models each image's hint planes (none: zeros)."""
        if not self.hint_aware:
            if hints is not None and any(hints):
                raise HintError(f"model {self.name!r} takes no color hints; use the bundled {HINT_MODEL!r} model")
            return small
        per_image = hints if hints is not None else [[] for _ in range(len(small))]
        planes = np.stack([hint_planes(list(h), image_hw, tuple(small.shape[-2:])) for h in per_image])
        return torch.cat([small, torch.from_numpy(planes).to(small)], dim=1)

    @torch.inference_mode()
    def colorize_lab(self, lightness: Tensor, hints: Sequence[list[Hint]] | None = None) -> Tensor:
        """Full-resolution L batch (N, 1, H, W) in [0, 100] -> Lab batch with predicted ab.

        ``hints``: one list of user colors per image (hint-aware models only).
        """
        h, w = lightness.shape[-2:]
        small = F.interpolate(normalize_l(lightness), size=working_shape(h, w, self.size), mode="bilinear",
                              antialias=True, align_corners=False)
        ab = denormalize_ab(self.predict_ab(self.model_input(small, (h, w), hints))).to(lightness.device)
        ab = ab * self.chroma
        ab = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)
        return torch.cat([lightness, ab], dim=1)

    def colorize(self, image: LoadedImage | np.ndarray, *, hints: Sequence[Hint] | None = None) -> np.ndarray:
        """One image (float RGB H x W x 3 in [0, 1]; color input is reduced to its lightness), optionally
        with user color hints (hint-aware models)."""
        return self.colorize_batch([image], hints=None if hints is None else [list(hints)])[0]

    def colorize_batch(self, images: Sequence[LoadedImage | np.ndarray], *,
                       hints: Sequence[Sequence[Hint]] | None = None) -> list[np.ndarray]:
        """Several images (with one hint list per image, if any); those sharing a size run together."""
        if hints is not None and len(hints) != len(images):
            raise ChromagenError(f"{len(hints)} hint lists for {len(images)} images")
        arrays = [im.rgb if isinstance(im, LoadedImage) else im for im in images]
        results: list[np.ndarray | None] = [None] * len(arrays)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, arr in enumerate(arrays):
            by_shape.setdefault(arr.shape, []).append(i)
        for indices in by_shape.values():
            batch = torch.from_numpy(np.stack([arrays[i] for i in indices])).permute(0, 3, 1, 2).float()
            batch_hints = None if hints is None else [list(hints[i]) for i in indices]
            rgb = lab_to_rgb(self.colorize_lab(rgb_to_lab(batch)[:, :1], batch_hints))
            for i, out in zip(indices, rgb.permute(0, 2, 3, 1).numpy()):
                results[i] = out
        return [r for r in results if r is not None]
