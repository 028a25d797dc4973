"""The ONNX Runtime backend: exported networks plus the color steps exported from ``chromagen.color``.

Needs only numpy and onnxruntime (the base install). The color graphs in ``backends/graphs`` are made by
``chromagen.export.export_color_graphs``; a test checks them against ``chromagen.color``.
"""

import hashlib
import os
import platform
from functools import cache
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from chromagen.errors import ChromagenError

GRAPHS_DIR = Path(__file__).resolve().parent / "graphs"
KEEP_COPIES = 3  # optimized copies kept per model file name (two clones and an install, say)


@cache
def _machine() -> str:
    """What an optimized graph depends on: the CPU's model and instruction sets, and ONNX Runtime's version."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    cpu = [line for line in lines if line.startswith(("model name", "flags", "Features"))][:2]
    return "|".join([ort.__version__, platform.machine(), *cpu])


def optimized_path(path: Path) -> Path:
    """Where this machine keeps ``path`` as ONNX Runtime optimized it (``$CHROMAGEN_ONNX_CACHE``, else
    ``onnx`` in the cache folder), keyed by the file (path, size, time) and the machine, since the fully
    optimized graph uses this CPU's own layouts (ORT's NCHWc)."""
    from chromagen.assets import cache_dir

    folder = os.environ.get("CHROMAGEN_ONNX_CACHE") or cache_dir() / "onnx"
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_machine()}"
    return Path(folder) / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def _mark_used(cached: Path) -> None:
    """A loaded copy's time is its last use, which ``_prune`` ranks by."""
    try:
        os.utime(cached)
    except OSError:  # a read-only cache: nothing to keep tidy
        pass


def _prune(cached: Path) -> None:
    """After writing ``cached``, delete all but the ``KEEP_COPIES`` most recently used copies of its model
    name: each reinstall, ONNX Runtime upgrade or new clone would otherwise leave another ~18 MB behind."""
    try:
        copies = sorted(cached.parent.glob(f"{cached.name.rsplit('-', 1)[0]}-*.onnx"),
                        key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in copies[KEEP_COPIES:]:
            old.unlink(missing_ok=True)
    except OSError:  # another process pruning at the same time
        pass


def _cached_session(path: Path, options: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession:
    """A CPU session from this machine's optimized copy of ``path``, made (atomically) on first use.

    Optimizing the network is most of what its session costs on every start of the CLI; loading the
    optimized copy unoptimized skips it (the default's first session: median 0.152 s -> 0.095 s,
    benchmarks/cli_start.py). A copy that will not load is made again; a cache that cannot be written leaves the
    session as it would have been without one.
    """
    cached = optimized_path(path)
    if cached.is_file():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            made = ort.InferenceSession(str(cached), options, providers=providers)
            _mark_used(cached)
            return made
        except (ort_errors.Fail, ort_errors.InvalidGraph, ort_errors.InvalidProtobuf, ort_errors.NoSuchFile):
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(cached.parent, os.W_OK)  # ORT reports a failed write by printing and retrying
    except OSError:
        writable = False
    if not writable:
        return ort.InferenceSession(str(path), options, providers=providers)
    part = cached.with_name(f"{cached.name}.{os.getpid()}.part")
    options.optimized_model_filepath = str(part)
    try:
        made = ort.InferenceSession(str(path), options, providers=providers)
        os.replace(part, cached)
        _prune(cached)
        return made
    finally:
        part.unlink(missing_ok=True)


def session(path: Path | bytes, threads: int, device: str = "cpu", cache: bool = False) -> ort.InferenceSession:
    """An inference session with a fixed thread budget (ORT's default takes every core, even when busy).

    ORT's memory arena stays on, also for the color graphs: their tensors are one image band's (at most
    ``inference.BAND_PIXELS``), so it holds a few MB, and allocating them afresh on every band made the
    recombination about 1.4x slower on two workers (docs/runtime.md). ``cache``: on CPU, keep the optimized
    graph of a file for the next process (``_cached_session``).
    """
    options = ort.SessionOptions()
    # Idle pool threads sleep instead of spinning: on a busy laptop or a shared 2-core machine, spinning
    # threads steal the very cores the next node needs (measured 3.5x slower under load).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: no warnings on stderr
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ChromagenError("--device cuda with --backend onnx needs onnxruntime-gpu; "
                                 "or use --backend torch")
        providers.insert(0, "CUDAExecutionProvider")
    source = str(path) if isinstance(path, Path) else path
    try:
        if cache and isinstance(path, Path) and path.is_file() and providers == ["CPUExecutionProvider"]:
            return _cached_session(path, options, providers)
        return ort.InferenceSession(source, options, providers=providers)
    except (ort_errors.Fail, ort_errors.InvalidGraph, ort_errors.InvalidProtobuf, ort_errors.NoSuchFile) as exc:
        raise ChromagenError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from exc


@cache
def color_session(name: str) -> ort.InferenceSession:
    """One of the color graphs ``chromagen.export.export_color_graphs`` made, loaded once.

    One thread: ORT runs these element-wise graphs on one core anyway, so the Colorizer runs image bands
    side by side instead (``OnnxBackend.workers``)."""
    return session(GRAPHS_DIR / f"{name}.onnx", 1)


class OnnxBackend:
    """An exported network (input ``l`` (N, C, h, w), output ``ab``) and the exported color graphs."""

    name = "onnx"

    def __init__(self, path: Path, device: str = "cpu", threads: int = 1) -> None:
        self.session = session(path, threads, device, cache=True)
        self.workers = threads  # the color graphs run on one thread each (``color_session``)
        self.meta = dict(self.session.get_modelmeta().custom_metadata_map)
        channels = self.session.get_inputs()[0].shape[1]
        self.in_channels = channels if isinstance(channels, int) else 1
        self.min_side = int(self.meta.get("min_side", "1"))

    def predict_ab(self, inputs: np.ndarray) -> np.ndarray:
        if min(inputs.shape[-2:]) < self.min_side:
            raise ChromagenError(f"this ONNX model needs a working size of at least {self.min_side} px a side "
                                 f"(got {inputs.shape[-2]}x{inputs.shape[-1]}); raise --size or use --backend torch")
        return self.session.run(None, {"l": np.ascontiguousarray(inputs, dtype=np.float32)})[0]

    def _color(self, name: str, **inputs: np.ndarray) -> np.ndarray:
        feeds = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        return color_session(name).run(None, feeds)[0]

    def encode_lightness(self, rgb: np.ndarray) -> np.ndarray:
        return self._color("encode_lightness", rgb=rgb)

    def encode_ab(self, rgb: np.ndarray) -> np.ndarray:
        return self._color("encode_ab", rgb=rgb)

    def ab_from_model(self, ab_norm: np.ndarray, chroma: float) -> np.ndarray:
        return self._color("ab_from_model", ab_norm=ab_norm, chroma=np.float32(chroma))

    def decode_lab(self, l_norm: np.ndarray, ab: np.ndarray) -> np.ndarray:
        return self._color("decode_lab", l_norm=l_norm, ab=ab)

    def decode_lab_steps(self, l_norm: np.ndarray, ab: np.ndarray, steps: int) -> np.ndarray:
        return self._color("decode_lab_steps", l_norm=l_norm, ab=ab, steps=np.float32(steps))

    def srgb_from_linear(self, linear: np.ndarray) -> np.ndarray:
        return self._color("srgb_from_linear", linear=linear)
