"""The Lab -> sRGB step on ONNX Runtime: kornia's conversion against ``chromagen.color``'s, exported alike.

Usage: python benchmarks/color_graph_speed.py [--rounds 20] [--rows 64]

Both functions are exported with ``chromagen.export`` (same dynamic shapes) into a temporary folder and run
on one ONNX Runtime thread over a 1024 x 768 image in bands of ``--rows`` rows, alternating, so machine
load hits both alike. Prints the median and the fastest round of each, and their largest difference.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import kornia.color
import numpy as np
import onnxruntime as ort
import torch

from chromagen import color
from chromagen.export import _export, _Function


def kornia_decode(l_norm: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """The previous ``decode_lab``: kornia's conversion, then channels last like the current one."""
    lab = torch.cat([color.denormalize_l(l_norm), ab], dim=1)
    return kornia.color.lab_to_rgb(lab, clip=True).permute(0, 2, 3, 1)


def export(function, path: Path) -> ort.InferenceSession:
    n, h, w = (torch.export.Dim(k, min=1, max=1 << 16) for k in ("n", "h", "w"))
    dims = {0: n, 2: h, 3: w}
    example = (torch.rand(2, 1, 5, 7) * 2 - 1, torch.randn(2, 2, 5, 7) * 30)
    _export(_Function(function), example, ["l_norm", "ab"], ((dims, dims),), path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--rows", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-1, 1, (1, 1, 768, 1024)).astype(np.float32)
    ab = rng.uniform(-80, 80, (1, 2, 768, 1024)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {"kornia": export(kornia_decode, Path(tmp) / "kornia.onnx"),
                    "chromagen": export(color.decode_lab, Path(tmp) / "chromagen.onnx")}

        def run(session: ort.InferenceSession) -> np.ndarray:
            return np.concatenate([session.run(None, {"l_norm": l_norm[:, :, r:r + args.rows],
                                                      "ab": ab[:, :, r:r + args.rows]})[0]
                                   for r in range(0, 768, args.rows)], axis=1)

        outputs = {name: run(s) for name, s in sessions.items()}
        times: dict[str, list[float]] = {name: [] for name in sessions}
        for _ in range(args.rounds):
            for name, session in sessions.items():
                start = time.perf_counter()
                run(session)
                times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        print(f"{name:>10}: median {1000 * statistics.median(values):6.1f} ms, fastest {1000 * min(values):6.1f} ms")
    print(f"largest difference: {float(np.abs(outputs['kornia'] - outputs['chromagen']).max()):.2e}")


if __name__ == "__main__":
    main()
