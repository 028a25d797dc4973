"""U-Net generators on a pluggable (pretrained) encoder: the default chromagen architecture."""

import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.models.common import UpBlock, pad_to_multiple
from chromagen.models.encoders import create_encoder
from chromagen.models.registry import register_model


class EncoderUNet(nn.Module):
    """Encoder features at strides 2..32, a decoder with skip connections, ab out at full resolution.

    ab is predicted at half resolution and upsampled bilinearly: color is low-frequency, and the
    full-resolution stage would cost more than the whole encoder.
    """

    def __init__(self, encoder: str, pretrained: bool, decoder_channels: tuple[int, ...]) -> None:
        super().__init__()
        self.encoder = create_encoder(encoder, pretrained=pretrained)
        skips = self.encoder.channels[::-1]  # deepest first
        chans = [skips[0], *decoder_channels]
        self.ups = nn.ModuleList(
            UpBlock(chans[i], skips[i + 1], chans[i + 1]) for i in range(len(skips) - 1)
        )
        self.head = nn.Conv2d(decoder_channels[-1], 2, kernel_size=1)

    def forward(self, l_norm: Tensor) -> Tensor:
        x, (h, w) = pad_to_multiple(l_norm, 32)
        feats = self.encoder(x)[::-1]
        y = feats[0]
        for up, skip in zip(self.ups, feats[1:]):
            y = up(y, skip)
        ab = F.interpolate(self.head(y), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return ab[..., :h, :w]


@register_model("effnet-unet")
def effnet_unet(
    encoder: str = "efficientnet-lite0",
    pretrained: bool = True,
    decoder_channels: tuple[int, ...] = (192, 96, 64, 48),
) -> nn.Module:
    """U-Net on an ImageNet-pretrained EfficientNet-Lite encoder (the bundled default)."""
    return EncoderUNet(encoder, pretrained, tuple(decoder_channels))
