"""Images per second of a bundled network at 256 x 256 in half precision, on a GPU (or any torch device).

Usage: python benchmarks/gpu_throughput.py [--model default] [--batch 256] [--seconds 10] [--dtype float16]
           [--device cuda]

Two figures, each timed for ``--seconds`` after a warm-up, with the device synchronized: the network's
forward pass alone (normalized L in, normalized ab out, under autocast), and forward plus the color steps of
the pipeline on the same device (``chromagen.color.ab_from_model`` and ``decode_lab`` in float32), i.e. what
an on-device batch colorization costs before the copy back. Inputs are random lightness planes: the
networks' cost does not depend on the content. Runs on CPU too (``--device cpu``), for checking the script.
"""

import argparse
import json
import time

import torch

from chromagen import color
from chromagen.backends import TORCH_SUFFIXES, model_file
from chromagen.inference import stored_chroma
from chromagen.models.registry import predict_ab
from chromagen.models.weights import load_generator


def images_per_second(step, batch: int, seconds: float, device: torch.device) -> float:
    """Run ``step`` until ``seconds`` have passed (after 3 warm-up calls); images per second."""
    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += batch
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dtype", choices=["float16", "bfloat16", "float32"], default="float16")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    model, meta = load_generator(model_file(args.model, TORCH_SUFFIXES))
    model = model.to(device).eval()
    chroma = torch.tensor(stored_chroma(meta, args.model), device=device)
    dtype = getattr(torch, args.dtype)
    lightness = torch.rand(args.batch, 1, args.side, args.side, device=device) * 2 - 1

    @torch.inference_mode()
    def forward() -> torch.Tensor:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            return predict_ab(model, lightness)

    @torch.inference_mode()
    def pipeline() -> torch.Tensor:
        return color.decode_lab(lightness, color.ab_from_model(forward().float(), chroma))

    result = {"model": args.model, "device": str(torch.cuda.get_device_name(device) if device.type == "cuda"
                                                   else device), "dtype": args.dtype, "batch": args.batch,
              "side": args.side, "torch": torch.__version__,
              "forward_images_per_s": round(images_per_second(forward, args.batch, args.seconds, device), 1),
              "pipeline_images_per_s": round(images_per_second(pipeline, args.batch, args.seconds, device), 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
