"""U-Net generators on a pluggable (pretrained) encoder: the default chromagen architecture."""

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.models.classification import AbBins
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
        return self.head_ab(y, x, (h, w))

    def head_ab(self, y: Tensor, padded: Tensor, size: tuple[int, int]) -> Tensor:
        """ab from the last decoder features: the head, upsampled to the padded input, cropped to ``size``."""
        ab = F.interpolate(self.head(y), size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return ab[..., : size[0], : size[1]]


@register_model("effnet-unet")
def effnet_unet(
    encoder: str = "efficientnet-lite0",
    pretrained: bool = True,
    decoder_channels: tuple[int, ...] = (192, 96, 64, 48),
) -> nn.Module:
    """U-Net on an ImageNet-pretrained EfficientNet-Lite encoder (the bundled default)."""
    return EncoderUNet(encoder, pretrained, tuple(decoder_channels))


class DualHeadUNet(EncoderUNet):
    """The default U-Net plus an ab-bin classification head (Zhang et al.) on its stride-4 decoder features.

    Trained jointly (L1 on the regression head, rebalanced cross-entropy on the bins): the classifier
    learns which colors are possible, the regression keeps the shared features anchored to the truth.
    Inference decodes the bins by the annealed mean, whose ``temperature`` sets how far colors lean from
    the mean (dull, safe) toward the mode (vivid). ``forward`` returns the regression head, for training.
    """

    base_model = "effnet-unet"  # its weights initialize this model; the bin head and prior start fresh
    new_layers = ("bins.", "class_head.")

    def __init__(self, encoder: str, pretrained: bool, decoder_channels: tuple[int, ...], grid: int,
                 temperature: float) -> None:
        super().__init__(encoder, pretrained, decoder_channels)
        self.bins = AbBins(grid, temperature)
        self.class_head = nn.Conv2d(decoder_channels[-2], len(self.bins.bins), kernel_size=1)

    def heads(self, l_norm: Tensor, regression: bool = True) -> tuple[Tensor | None, Tensor]:
        """(regression ab or None, bin logits at 1/4 resolution); the last decoder step only runs when
        the regression is asked for."""
        x, (h, w) = pad_to_multiple(l_norm, 32)
        feats = self.encoder(x)[::-1]
        y = feats[0]
        for up, skip in zip(self.ups[:-1], feats[1:-1]):
            y = up(y, skip)
        logits = self.class_head(y)[..., : (h + 3) // 4, : (w + 3) // 4]
        if not regression:
            return None, logits
        return self.head_ab(self.ups[-1](y, feats[-1]), x, (h, w)), logits

    def forward(self, l_norm: Tensor) -> Tensor:
        return self.heads(l_norm)[0]  # type: ignore[return-value]

    def predict_ab(self, l_norm: Tensor) -> Tensor:
        """The annealed mean of the bin head: what inference, validation and export use."""
        return self.bins.upsampled(self.heads(l_norm, regression=False)[1], l_norm.shape[-2:])

    def joint_loss(self, l_norm: Tensor, ab_norm: Tensor, regression: Callable[[Tensor, Tensor], Tensor],
                   weight: float) -> tuple[Tensor, Tensor]:
        """(regression loss + weight x rebalanced cross-entropy, the regression prediction)."""
        ab, logits = self.heads(l_norm)
        assert ab is not None
        return regression(ab.float(), ab_norm) + weight * self.bins.logits_loss(logits, ab_norm), ab.float()

    @property
    def prior(self) -> Tensor:
        """The bin head's color prior (Q,)."""
        return self.bins.prior

    def set_prior(self, prior: Tensor, sigma: float = 5.0, lam: float = 0.5) -> None:
        """Install the training data's color prior (class rebalancing) in the bin head."""
        self.bins.set_prior(prior, sigma, lam)


@register_model("effnet-unet-cls")
def effnet_unet_cls(
    encoder: str = "efficientnet-lite0",
    pretrained: bool = True,
    decoder_channels: tuple[int, ...] = (192, 96, 64, 48),
    grid: int = 10,
    temperature: float = 0.38,
) -> nn.Module:
    """The default U-Net with a joint ab-bin classification head, decoded by the annealed mean."""
    return DualHeadUNet(encoder, pretrained, tuple(decoder_channels), grid, temperature)
