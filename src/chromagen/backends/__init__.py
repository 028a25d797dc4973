"""Backends run the network and the color steps under the one Colorizer pipeline.

Two implementations of one small interface: ``torch`` (training stack, CUDA) and ``onnx`` (ONNX Runtime:
the base install, fastest on CPU). ``auto`` picks ONNX Runtime on CPU and torch on CUDA. Both run the same
color math: the torch backend calls ``chromagen.color``; the ONNX backend runs graphs exported from it.
"""

import importlib.util
import os
import re
from pathlib import Path
from typing import Protocol

import numpy as np

from chromagen.catalog import bundled_entry, bundled_names
from chromagen.errors import ChromagenError

BACKENDS = ("auto", "torch", "onnx")
TORCH_SUFFIXES = (".safetensors", ".ckpt")
TRAIN_EXTRA = "pip install 'chromagen[train]'"


class Backend(Protocol):
    """What the Colorizer needs from a backend; every array is float32, batch first."""

    name: str
    in_channels: int  # 1: normalized L; 4: L, hint a, hint b, hint mask
    meta: dict[str, str]  # the weights file's metadata (``chroma`` calibration, architecture)
    workers: int  # image bands the Colorizer may run at once (1 where the backend's own ops use every thread)

    def predict_ab(self, inputs: np.ndarray) -> np.ndarray:
        """(N, C, h, w) network input -> (N, 2, h, w) normalized ab."""

    def encode_lightness(self, rgb: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) sRGB in [0, 1] -> (N, 1, H, W) normalized L (``chromagen.color.encode_lightness``)."""

    def encode_ab(self, rgb: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) sRGB in [0, 1] -> (N, 2, H, W) normalized ab (``chromagen.color.encode_ab``)."""

    def ab_from_model(self, ab_norm: np.ndarray, chroma: float) -> np.ndarray:
        """Normalized ab -> Lab units times the saturation gain (``chromagen.color.ab_from_model``)."""

    def decode_lab(self, l_norm: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """Normalized L (N, 1, H, W) + Lab ab (N, 2, H, W) -> sRGB (N, H, W, 3) (``chromagen.color.decode_lab``)."""

    def decode_lab_steps(self, l_norm: np.ndarray, ab: np.ndarray, steps: int) -> np.ndarray:
        """``decode_lab`` as int32 steps of linear light (``chromagen.color.decode_lab_steps``)."""

    def srgb_from_linear(self, linear: np.ndarray) -> np.ndarray:
        """Linear light (N, C, H, W) -> sRGB in [0, 1] (``chromagen.color.srgb_from_linear``)."""


def require_torch(what: str) -> None:
    """One line naming the extra to install when a torch-only feature is used on the base install."""
    try:
        import torch  # noqa: F401  (the caller imports it next anyway)
    except ImportError:
        raise ChromagenError(f"{what} needs PyTorch, which the base install leaves out: {TRAIN_EXTRA}") from None


def bundled_file(model: str, suffix: str) -> Path | None:
    """The bundled model's weights in one format (``.onnx``, ``.safetensors``), if this install has them.

    Catalogue entries may share a file (the same network at another calibration), so the file is the
    entry's, not the name's.
    """
    entry = bundled_entry(model)
    path = entry.path.with_suffix(suffix) if entry is not None else None
    return path if path is not None and path.is_file() else None


def _cuda_present() -> bool:
    """An NVIDIA driver is loaded (checked without importing torch, which would cost a second)."""
    return Path("/proc/driver/nvidia/version").exists() and importlib.util.find_spec("torch") is not None


def check_device(device: str) -> str:
    """``device`` when it names one we run on (auto, cpu, cuda, cuda:N), else a one-line error: ONNX Runtime
    on CPU would otherwise take any word silently."""
    if device in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", device):
        return device
    raise ChromagenError(f"unknown device {device!r}; use auto, cpu or cuda")


def pick_backend(model: str, backend: str, device: str) -> str:
    """``auto``: .onnx files run on ONNX Runtime, torch weights on torch, bundled models on ONNX Runtime
    unless a CUDA GPU is asked for (or, with ``device=auto``, present and torch installed)."""
    check_device(device)
    if backend not in BACKENDS:
        raise ChromagenError(f"unknown backend {backend!r}; use {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if model.endswith(".onnx"):
        return "onnx"
    if model.endswith(TORCH_SUFFIXES):
        return "torch"
    wants_cuda = device.startswith("cuda") or (device == "auto" and _cuda_present())
    # A wheel ships some bundled models as ONNX only (package size): those run on ONNX Runtime here too.
    has_torch_file = any(bundled_file(model, suffix) for suffix in TORCH_SUFFIXES)
    return "torch" if wants_cuda and (has_torch_file or model not in bundled_names()) else "onnx"


def model_file(model: str, suffixes: tuple[str, ...]) -> Path:
    """A bundled name (in one of ``suffixes``) or an existing file path."""
    for suffix in suffixes:
        path = bundled_file(model, suffix)
        if path is not None:
            return path
    path = Path(model)
    if path.is_file():
        return path
    if model in bundled_names():
        raise ChromagenError(f"bundled model {model!r} has no {' or '.join(suffixes)} file for this backend")
    raise ChromagenError(f"model {model!r} is neither a bundled model ({', '.join(bundled_names())}) nor a file")


def default_threads() -> int:
    """CPU threads when none are given: the CPUs this process may use, at most 4 (more rarely helps)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def open_backend(model: str, backend: str = "auto", device: str = "auto", threads: int | None = None) -> Backend:
    """Load ``model`` (bundled name or file) on the chosen backend."""
    if threads is not None and threads < 1:
        raise ChromagenError(f"--threads must be at least 1 (got {threads})")
    kind = pick_backend(model, backend, device)
    if kind == "onnx":
        if model.endswith(TORCH_SUFFIXES):
            raise ChromagenError(f"{model}: torch weights run on --backend torch; for ONNX Runtime export them "
                                 f"first (chromagen export --model {model} -o model.onnx)")
        from chromagen.backends.onnx_backend import OnnxBackend

        return OnnxBackend(model_file(model, (".onnx",)), device, threads or default_threads())
    if model.endswith(".onnx"):
        raise ChromagenError(f"{model}: an ONNX model runs on --backend onnx")
    require_torch("--backend torch")
    from chromagen.backends.torch_backend import TorchBackend

    return TorchBackend.load(model_file(model, TORCH_SUFFIXES), device, threads)  # None: torch's own default
