"""Attention U-Net (Oktay et al., MIDL 2018): additive attention gates filter the skip connections."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.models.common import UpBlock, conv_bn_act, pad_to_multiple
from chromagen.models.encoders import require_random_init
from chromagen.models.registry import register_model


class AttentionGate(nn.Module):
    """alpha = sigmoid(psi(relu(W_x x + W_g g))): the coarser decoder state ``g`` picks which skip pixels pass.

    As in the paper, the skip ``x`` is brought down to the gate's grid by a stride-2 conv, and the attention
    map is resampled back up bilinearly before it scales ``x``.
    """

    def __init__(self, skip_channels: int, gate_channels: int, inter_channels: int) -> None:
        super().__init__()
        self.theta = nn.Conv2d(skip_channels, inter_channels, 2, stride=2, bias=False)
        self.phi = nn.Conv2d(gate_channels, inter_channels, 1)
        self.psi = nn.Conv2d(inter_channels, 1, 1)

    def forward(self, skip: Tensor, gate: Tensor) -> Tensor:
        alpha = torch.sigmoid(self.psi(F.relu(self.theta(skip) + self.phi(gate))))
        return skip * F.interpolate(alpha, size=skip.shape[-2:], mode="bilinear", align_corners=False)


def double_conv(cin: int, cout: int) -> nn.Sequential:
    """The U-Net level: two 3x3 conv-BN-ReLU."""
    return nn.Sequential(conv_bn_act(cin, cout), conv_bn_act(cout, cout))


class OpenSkip(nn.Module):
    """The ungated twin's skip: passes ``skip`` as it is, so the network differs from the gated one only there."""

    def forward(self, skip: Tensor, gate: Tensor) -> Tensor:
        return skip


class AttentionUNet(nn.Module):
    """U-Net (max-pool down, bilinear up) whose every skip goes through an attention gate (or, ungated, not)."""

    def __init__(self, widths: tuple[int, ...], gates: bool = True) -> None:
        super().__init__()
        ins = (1, *widths[:-1])
        self.levels = nn.ModuleList(double_conv(i, o) for i, o in zip(ins, widths))
        self.gates = nn.ModuleList(
            AttentionGate(widths[k], widths[k + 1], max(widths[k] // 2, 1)) if gates else OpenSkip()
            for k in range(len(widths) - 1)
        )
        self.ups = nn.ModuleList(UpBlock(widths[k + 1], widths[k], widths[k]) for k in range(len(widths) - 1))
        self.head = nn.Conv2d(widths[0], 2, 1)
        self.factor = 2 ** (len(widths) - 1)

    def forward(self, l_norm: Tensor) -> Tensor:
        x, (h, w) = pad_to_multiple(l_norm, self.factor)
        feats = [self.levels[0](x)]
        for level in self.levels[1:]:
            feats.append(level(F.max_pool2d(feats[-1], 2)))
        y = feats[-1]
        for k in reversed(range(len(self.ups))):
            y = self.ups[k](y, self.gates[k](feats[k], y))
        return self.head(y)[..., :h, :w]


@register_model("attention-unet")
def attention_unet(widths: tuple[int, ...] = (32, 64, 128, 256, 512), pretrained: bool = False,
                   gates: bool = True) -> nn.Module:
    """U-Net with additive attention gates on the skip connections (Oktay et al. 2018); ``gates: false`` is
    the same U-Net with plain skips, the controlled twin that says what the gates add."""
    require_random_init("attention-unet", pretrained)
    return AttentionUNet(tuple(widths), gates)
