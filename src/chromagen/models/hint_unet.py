"""The hint-aware U-Net (Zhang et al. 2017, user-guided): L plus sparse user colors in, ab out.

Input (N, 4, H, W): normalized L, the hint ab (normalized, 0 where no hint) and the hint mask (1 at hinted
pixels). The hint planes enter twice: through a convolution beside the pretrained stem (so the encoder can
spread a color over its region) and at every decoder step (so a color lands where it was put). Every hint
layer starts at zero: a freshly built model with the automatic default's weights colorizes exactly like it.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.models.common import pad_to_multiple
from chromagen.models.registry import register_model
from chromagen.models.unet import EncoderUNet

HINT_CHANNELS = 3  # hint a, hint b, hint mask


def _zero_conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, kernel, stride, padding=0 if stride > 1 else kernel // 2, bias=False)
    nn.init.zeros_(conv.weight)
    return conv


def pool_hints(hints: Tensor, size: tuple[int, int]) -> Tensor:
    """Hint planes at a coarser decoder scale: each cell's mean hint ab and whether it holds a hint.

    A plain average would dilute a one-pixel hint to nothing at stride 32; this keeps its full strength.
    """
    area = F.adaptive_avg_pool2d(hints[:, 2:], size)
    ab = F.adaptive_avg_pool2d(hints[:, :2], size) / area.clamp(min=1e-6)  # ab is 0 wherever the mask is
    return torch.cat([ab, (area > 0).to(hints.dtype)], dim=1)


class HintUNet(EncoderUNet):
    """EncoderUNet (EfficientNet-Lite encoder) whose input also carries a sparse ab hint map and its mask."""

    in_channels = 1 + HINT_CHANNELS
    base_model = "effnet-unet"  # its weights initialize this model; the hint layers start at zero
    new_layers = ("hint_",)

    def __init__(self, encoder: str, pretrained: bool, decoder_channels: tuple[int, ...]) -> None:
        super().__init__(encoder, pretrained, decoder_channels)
        stem_conv = self.encoder.stem[0]
        # Same geometry as the stem's TF "same" padding (pad right/bottom), so the outputs align.
        self.hint_pad = nn.ZeroPad2d(stem_conv.static_padding.padding)
        self.hint_stem = _zero_conv(HINT_CHANNELS, stem_conv.out_channels, stem_conv.kernel_size[0],
                                    stem_conv.stride[0])
        chans = [self.encoder.channels[-1], *decoder_channels]
        self.hint_decoder = nn.ModuleList(_zero_conv(HINT_CHANNELS, c, 3) for c in chans[:-1])

    def forward(self, inputs: Tensor) -> Tensor:
        x, (h, w) = pad_to_multiple(inputs, 32)
        l_norm, hints = x[:, :1], x[:, 1:]
        feats = self.encoder(l_norm, stem_extra=self.hint_stem(self.hint_pad(hints)))[::-1]
        y = feats[0]
        for up, inject, skip in zip(self.ups, self.hint_decoder, feats[1:]):
            y = up(y + inject(pool_hints(hints, y.shape[-2:])), skip)
        return self.head_ab(y, x, (h, w))


@register_model("hint-unet")
def hint_unet(
    encoder: str = "efficientnet-lite0",
    pretrained: bool = True,
    decoder_channels: tuple[int, ...] = (192, 96, 64, 48),
) -> nn.Module:
    """The default U-Net plus user color hints: input L, hint ab and hint mask (4 channels)."""
    return HintUNet(encoder, pretrained, tuple(decoder_channels))
