"""Where one in-process ``Colorizer.colorize`` of a 1024x768 gray photo spends its time (ONNX Runtime backend).

Usage: python benchmarks/api_steps.py [--rounds 5] [--repeats 15] [--threads 2]

Prints, each a median of ``--repeats`` calls per round, the rounds alternating the steps so machine load
hits them alike:
- the pipeline's steps: lightness (full resolution plus the working copy), the network at the working size,
  the recombination with 1 and with ``--threads`` workers (and with ``--threads`` workers when its color
  graph allocates without ORT's memory arena, as before 2026-12-08), and the whole call;
- the recombination's color graphs on 32-row bands, split by operator with ORT's profiler: ``decode_lab_steps``
  (8-bit output, a table lookup after it) and ``decode_lab`` (16-bit and float output, the sRGB curve in it);
- single ORT operators on one thread (Log, Exp, Pow with exponent 1/2.4, Sqrt): nanoseconds an element;
- the network after ORT's dynamic int8 quantization against the float network.
"""

import argparse
import collections
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper
from PIL import Image
from skimage import data as skdata

from chromagen.backends import onnx_backend
from chromagen.backends.onnx_backend import GRAPHS_DIR
from chromagen.catalog import bundled_entry
from chromagen.inference import LINEAR_STEPS, Colorizer, working_shape
from cpu_latency import median_time  # this folder is on the path when a benchmark runs as a script


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    return median_time(fn, repeats) * 1000


def _session(model: str | bytes, threads: int, profile: str | None = None,
             level: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
             save: str | None = None, arena: bool = True) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = arena
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = level
    if profile:  # ORT writes the profile as a JSON file named from this prefix
        options.enable_profiling = True
        options.profile_file_prefix = profile
    if save:
        options.optimized_model_filepath = save
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def steps(args: argparse.Namespace) -> dict[str, list[float]]:
    colorizer = Colorizer.from_pretrained("default", device="cpu", backend="onnx", threads=args.threads)
    gray = Image.fromarray(skdata.astronaut()).convert("L").resize((1024, 768), Image.Resampling.BICUBIC)
    image = np.asarray(gray)
    work = working_shape(768, 1024, colorizer.size)
    full, small = colorizer._lightness(image, work)
    ab = colorizer._predict(small[None], (768, 1024), [None])[0]
    u8 = np.dtype(np.uint8)
    no_arena = _session(str(GRAPHS_DIR / "decode_lab_steps.onnx"), 1, arena=False)

    def recombine_without_arena() -> None:
        with mock.patch.object(onnx_backend, "color_session", lambda name: no_arena):
            colorizer._recombine(full, ab, u8, args.threads)

    named = {"lightness": lambda: colorizer._lightness(image, work),
             "network": lambda: colorizer.backend.predict_ab(small[None, None]),
             "recombine, 1 worker": lambda: colorizer._recombine(full, ab, u8, 1),
             f"recombine, {args.threads} workers": lambda: colorizer._recombine(full, ab, u8, args.threads),
             f"recombine, {args.threads}, no arena": recombine_without_arena,
             "colorize": lambda: colorizer.colorize(image)}
    result: dict[str, list[float]] = {name: [] for name in named}
    for _ in range(args.rounds):
        for name, fn in named.items():
            result[name].append(_median_ms(fn, args.repeats))
    return result


def decode_profile(args: argparse.Namespace, graph: str) -> dict[str, float]:
    """Share of a decode graph's kernel time by operator type, over a 1024x768 image in 32-row bands."""
    with tempfile.TemporaryDirectory() as tmp:
        session = _session(str(GRAPHS_DIR / f"{graph}.onnx"), 1, profile=f"{tmp}/{graph}")
        rng = np.random.default_rng(0)
        feeds = {"l_norm": rng.uniform(-1, 1, (1, 1, 32, 1024)).astype(np.float32),
                 "ab": rng.normal(0, 20, (1, 2, 32, 1024)).astype(np.float32)}
        if graph == "decode_lab_steps":
            feeds["steps"] = np.array(LINEAR_STEPS, np.float32)
        for _ in range(24 * args.rounds):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    spent: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    total = sum(spent.values())
    return {op: us / total for op, us in spent.most_common()}


def _one_op(op: str, exponent: float | None) -> bytes:
    inputs = ["x", "k"] if exponent is not None else ["x"]
    inits = [helper.make_tensor("k", TensorProto.FLOAT, [], [exponent])] if exponent is not None else []
    graph = helper.make_graph([helper.make_node(op, inputs, ["y"])], op,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def operators(args: argparse.Namespace) -> dict[str, float]:
    """Nanoseconds an element of single operators on one thread, on one band's worth of linear RGB."""
    x = np.random.default_rng(0).uniform(0.0032, 1.0, 32 * 1024 * 3).astype(np.float32)
    result = {}
    for label, op, exponent in (("Log", "Log", None), ("Exp", "Exp", None), ("Pow 1/2.4", "Pow", 1 / 2.4),
                                ("Sqrt", "Sqrt", None)):
        session = _session(_one_op(op, exponent), 1)
        result[label] = _median_ms(lambda: session.run(None, {"x": x}), 20 * args.repeats) * 1e6 / x.size
    return result


def int8(args: argparse.Namespace) -> dict[str, float]:
    """The default network's forward at 144 x 192, float against ORT's dynamic int8 quantization."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        basic, quantized = f"{tmp}/basic.onnx", f"{tmp}/int8.onnx"
        source = str(bundled_entry("default").path.with_suffix(".onnx"))
        _session(source, 1, level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC, save=basic)  # fp16 weights folded
        quantize_dynamic(basic, quantized, weight_type=QuantType.QUInt8)
        x = {"l": np.random.default_rng(0).uniform(-1, 1, (1, 1, 144, 192)).astype(np.float32)}
        sessions = {"float": _session(source, args.threads), "dynamic int8": _session(quantized, args.threads)}
        times: dict[str, list[float]] = {name: [] for name in sessions}
        for _ in range(args.rounds):
            for name, session in sessions.items():
                times[name].append(_median_ms(lambda s=session: s.run(None, x), args.repeats))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), f"threads {args.threads}, median of {args.repeats}")
    for name, values in steps(args).items():
        print(f"{name:24} {' '.join(f'{v:6.1f}' for v in values)} ms")
    for graph in ("decode_lab_steps", "decode_lab"):
        shares = list(decode_profile(args, graph).items())[:5]
        print(f"{graph} kernel time: " + ", ".join(f"{op} {share:.0%}" for op, share in shares))
    print("one ORT thread, ns an element: " + ", ".join(f"{op} {ns:.2f}" for op, ns in operators(args).items()))
    print("network 144x192: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in int8(args).items()))


if __name__ == "__main__":
    main()
