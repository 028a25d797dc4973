"""Model size and compute: parameters and multiply-accumulates of one forward pass.

MACs are counted with torch.utils.flop_counter (convolutions, transposed convolutions, matmuls) and
reported as FLOPs / 2; elementwise ops, norms and pooling are not counted.
"""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def gmacs(model: nn.Module, channels: int, size: int = 256) -> float:
    """Multiply-accumulates (in billions) of one forward pass on a (1, channels, size, size) batch."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, channels, size, size))
    return counter.get_total_flops() / 2 / 1e9


def parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())
