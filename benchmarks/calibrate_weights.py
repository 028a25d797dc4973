"""Write a copy of a weights file with calibrated inference settings, for selection sweeps and shipping:
the annealed-mean ``temperature`` of models with an ab-bin head (saved in the architecture kwargs) and the
saturation gain ``chroma`` (saved as metadata, which ``Colorizer.from_pretrained`` and the ONNX export read).

    .venv/bin/python benchmarks/calibrate_weights.py runs/vivid-cls/model.safetensors out.safetensors \\
        --temperature 0.3 --chroma 1.0
"""

import argparse
import json
from pathlib import Path

from chromagen.errors import ChromagenError
from chromagen.models.weights import load_generator, save_generator


def calibrate(source: Path, target: Path, temperature: float | None, chroma: float | None) -> Path:
    """``source`` re-saved to ``target`` with the given temperature and / or gain (others kept)."""
    model, meta = load_generator(source)
    kwargs = json.loads(meta.get("kwargs", "{}"))
    if temperature is not None:
        if "temperature" not in kwargs and not hasattr(model, "bins"):
            raise ChromagenError(f"{source}: a {meta['model']!r} model has no annealed-mean temperature")
        kwargs["temperature"] = temperature
    extra = {k: v for k, v in meta.items() if k not in ("format", "model", "kwargs")}
    if chroma is not None:
        extra["chroma"] = f"{chroma:g}"
    return save_generator(model, meta["model"], kwargs, target, extra=extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--chroma", type=float)
    args = parser.parse_args()
    print(calibrate(args.source, args.target, args.temperature, args.chroma))


if __name__ == "__main__":
    main()
