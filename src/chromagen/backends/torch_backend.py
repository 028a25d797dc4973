"""The torch backend: any registered generator from a weights file or checkpoint, on CPU or CUDA."""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from chromagen import color
from chromagen.backends import check_device
from chromagen.errors import ChromagenError
from chromagen.models.registry import predict_ab
from chromagen.models.weights import load_generator


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is a user error."""
    if check_device(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ChromagenError("--device cuda requested but no CUDA GPU is available")
    return torch.device(device)


class TorchBackend:
    """A generator module plus the torch definitions of the color steps (``chromagen.color``)."""

    name = "torch"
    workers = 1  # torch's ops already spread over its threads

    def __init__(self, model: nn.Module, device: torch.device, meta: dict[str, str] | None = None) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.meta = meta or {}
        self.in_channels = int(getattr(model, "in_channels", 1))

    @classmethod
    def load(cls, path: Path, device: str = "auto", threads: int | None = None) -> "TorchBackend":
        """Load a .safetensors weights file or a training checkpoint."""
        if threads:
            torch.set_num_threads(threads)
        model, meta = load_generator(path)
        return cls(model, resolve_device(device), meta)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    @torch.inference_mode()
    def predict_ab(self, inputs: np.ndarray) -> np.ndarray:
        return predict_ab(self.model, self._tensor(inputs).to(self.device)).float().cpu().numpy()

    @torch.inference_mode()
    def encode_lightness(self, rgb: np.ndarray) -> np.ndarray:
        return color.encode_lightness(self._tensor(rgb)).numpy()

    @torch.inference_mode()
    def encode_ab(self, rgb: np.ndarray) -> np.ndarray:
        return color.encode_ab(self._tensor(rgb)).numpy()

    @torch.inference_mode()
    def ab_from_model(self, ab_norm: np.ndarray, chroma: float) -> np.ndarray:
        return color.ab_from_model(self._tensor(ab_norm), torch.tensor(chroma, dtype=torch.float32)).numpy()

    @torch.inference_mode()
    def decode_lab(self, l_norm: np.ndarray, ab: np.ndarray) -> np.ndarray:
        return color.decode_lab(self._tensor(l_norm), self._tensor(ab)).contiguous().numpy()

    @torch.inference_mode()
    def decode_lab_steps(self, l_norm: np.ndarray, ab: np.ndarray, steps: int) -> np.ndarray:
        limit = torch.tensor(float(steps))
        return color.decode_lab_steps(self._tensor(l_norm), self._tensor(ab), limit).contiguous().numpy()

    @torch.inference_mode()
    def srgb_from_linear(self, linear: np.ndarray) -> np.ndarray:
        return color.srgb_from_linear(self._tensor(linear)).numpy()
