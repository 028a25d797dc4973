"""Parameters and GMACs at 256x256 of every registered model, as a markdown table.

MACs are counted with torch.utils.flop_counter (convolutions, transposed convolutions, matmuls) and
reported as FLOPs / 2; elementwise ops, norms and pooling are not counted. Generators see a (1, 1, 256, 256)
L batch, discriminators a (1, 3, 256, 256) L+ab batch. Models are built with random weights, which do not
change the counts. Run: ``python benchmarks/model_complexity.py``.
"""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from chromagen.models import create_model, list_models

SIZE = 256


def gmacs(model: nn.Module, channels: int) -> float:
    """Multiply-accumulates (in billions) of one forward pass at SIZE x SIZE."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, channels, SIZE, SIZE))
    return counter.get_total_flops() / 2 / 1e9


def main() -> None:
    print(f"| model | kind | parameters (M) | GMACs @ {SIZE}x{SIZE} | summary |")
    print("| --- | --- | ---: | ---: | --- |")
    for entry in list_models():
        model = create_model(entry.name, pretrained=False).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        macs = gmacs(model, 1 if entry.kind == "generator" else 3)
        print(f"| `{entry.name}` | {entry.kind} | {params:.2f} | {macs:.2f} | {entry.summary} |")


if __name__ == "__main__":
    main()
