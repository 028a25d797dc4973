"""Export generators and the color steps to ONNX, for the torch-free ONNX Runtime backend.

A network graph takes ``l`` (N, C, h, w) and returns normalized ``ab`` (N, 2, h, w), with dynamic batch,
height and width; the weights file's metadata (architecture, ``chroma`` calibration) travels in the
ONNX metadata. The color graphs are traced from ``chromagen.color``, the one definition of the color math.
"""

import contextlib
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from chromagen import color
from chromagen.backends.onnx_backend import GRAPHS_DIR
from chromagen.errors import ChromagenError
from chromagen.media.files import atomic_path
from chromagen.models.registry import predict_ab
from chromagen.models.weights import load_generator

if TYPE_CHECKING:
    import onnx

OPSET = 18
MAX_SIDE = 16384


class _Generator(nn.Module):
    """The generator contract as one graph: classification models decode their logits inside it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, l: Tensor) -> Tensor:  # noqa: E741  (the input is named after the L channel)
        return predict_ab(self.model, l)


class _Function(nn.Module):
    """A plain function of tensors as a module, for ``torch.onnx.export``."""

    def __init__(self, fn: Callable[..., Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *args: Tensor) -> Tensor:
        return self.fn(*args)


def min_side(model: nn.Module) -> int:
    """Smallest height/width the graph accepts: one padding multiple, so reflect padding is always valid.

    Models pad their input to a multiple (32 for the encoder U-Nets, 2**num_downs for pix2pix) and switch
    to replicate padding below it; a static graph keeps the reflect branch, valid from one multiple up.
    """
    return max(32, int(getattr(model, "factor", 32)))


def _store_halves(model: "onnx.ModelProto") -> None:
    """Store the float32 weights as float16, cast back to float32 when the session starts (ONNX Runtime
    folds the casts): half the file, float32 arithmetic. The rounding costs nothing measurable
    (benchmarks/backend_parity.py: ONNX vs torch PSNR on every bench set, in docs/runtime.md)."""
    import onnx
    from onnx import helper, numpy_helper

    stored, casts = [], []
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype == np.float32 and array.size >= 64 and np.abs(array).max() < 60000:
            half = numpy_helper.from_array(array.astype(np.float16), f"{init.name}__fp16")
            stored.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
        else:
            stored.append(init)
    nodes = [*casts, *model.graph.node]
    del model.graph.initializer[:], model.graph.node[:]
    model.graph.initializer.extend(stored)
    model.graph.node.extend(nodes)


def _export(module: nn.Module, args: tuple[Tensor, ...], names: list[str], dims: tuple[object, ...],
            path: Path, meta: dict[str, str] | None = None, halves: bool = False) -> Path:
    """torch.onnx.export (dynamo) with its progress chatter silenced; failures become a ChromagenError.

    ``halves``: store the weights as float16 (``_store_halves``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module.eval(), args, input_names=names, output_names=["out"],
                                        dynamic_shapes=dims, dynamo=True, opset_version=OPSET, external_data=False)
    except Exception as exc:  # the exporter raises many types; all mean "this graph cannot be expressed"
        raise ChromagenError(f"cannot export to ONNX ({_summary(exc)})") from exc
    program.model.metadata_props.update(meta or {})
    with atomic_path(path) as tmp:
        program.save(str(tmp))
        if halves:
            import onnx

            model = onnx.load(str(tmp))
            _store_halves(model)
            onnx.save(model, str(tmp))
    return path


def _summary(exc: Exception) -> str:
    """The exporter's own one-line cause, out of its multi-paragraph message."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    marker = next((i for i, line in enumerate(lines) if "Exception summary" in line), None)
    return lines[marker + 1].strip() if marker is not None and marker + 1 < len(lines) else \
        f"{type(exc).__name__}: {lines[0] if lines else ''}"


def export_generator(model: nn.Module, path: str | Path, meta: dict[str, str] | None = None,
                     half: bool = False) -> Path:
    """A generator -> ONNX graph ``l`` -> ``ab`` with dynamic N, H, W (H, W >= ``min_side(model)``).

    ``half``: weights stored as float16 (half the file; float32 arithmetic)."""
    side = min_side(model)
    channels = int(getattr(model, "in_channels", 1))
    example = torch.rand(2, channels, side + 13, side + 7) * 2 - 1
    batch = torch.export.Dim("n", min=1, max=1024)
    height = torch.export.Dim("h", min=side, max=MAX_SIDE)
    width = torch.export.Dim("w", min=side, max=MAX_SIDE)
    info = {**(meta or {}), "min_side": str(side)}
    return _export(_Generator(model), (example,), ["l"], ({0: batch, 2: height, 3: width},), Path(path), info,
                   halves=half)


def export_weights(model: str | Path, path: str | Path, half: bool = False) -> Path:
    """Export a chromagen weights file or checkpoint, keeping its metadata (architecture, chroma gain)."""
    generator, meta = load_generator(model)
    return export_generator(generator, path, {**meta, "source": Path(model).name}, half=half)


def export_color_graphs(folder: Path = GRAPHS_DIR) -> list[Path]:
    """Trace the Colorizer's color steps from ``chromagen.color`` into ``folder`` (package data)."""
    n, c, h, w = (torch.export.Dim(k, min=1, max=1 << 16) for k in ("n", "c", "h", "w"))
    dims = {0: n, 2: h, 3: w}
    rgb, l_norm, ab = torch.rand(2, 3, 5, 7), torch.rand(2, 1, 5, 7) * 2 - 1, torch.randn(2, 2, 5, 7) * 30
    steps = torch.tensor(255.0)
    return [
        _export(_Function(color.encode_lightness), (rgb,), ["rgb"], ((dims,),), folder / "encode_lightness.onnx"),
        _export(_Function(color.encode_ab), (rgb,), ["rgb"], ((dims,),), folder / "encode_ab.onnx"),
        _export(_Function(color.ab_from_model), (ab / 110, torch.tensor(1.0)), ["ab_norm", "chroma"],
                ((dims, {}),), folder / "ab_from_model.onnx"),
        _export(_Function(color.decode_lab), (l_norm, ab), ["l_norm", "ab"], ((dims, dims),),
                folder / "decode_lab.onnx"),
        _export(_Function(color.decode_lab_steps), (l_norm, ab, steps), ["l_norm", "ab", "steps"],
                ((dims, dims, {}),), folder / "decode_lab_steps.onnx"),
        _export(_Function(color.srgb_from_linear), (rgb,), ["linear"], (({0: n, 1: c, 2: h, 3: w},),),
                folder / "srgb_from_linear.onnx"),
    ]


def metadata(path: Path) -> dict[str, str]:
    """The metadata an exported graph carries (for listings and tests)."""
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
