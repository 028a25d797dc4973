"""ResNet-50 encoder on L with a transposed-convolution decoder (regression, and the generator of its GAN variant)."""

from torch import Tensor, nn

from chromagen.errors import ChromagenError
from chromagen.models.common import conv_bn_act, pad_to_multiple, up_conv
from chromagen.models.encoders import ResNetEncoder, require_random_init
from chromagen.models.registry import register_model


class ResNetCNN(nn.Module):
    """ResNet-50 down to a 2048-channel bottleneck at 1/32, a 1x1 squeeze, five x2 transposed convs up to ab.

    No skip connections: unlike a U-Net, color must be decoded from the bottleneck alone. The trunk is
    ``backbone`` (not ``encoder``): it is randomly initialized, so it trains at the full learning rate.
    """

    def __init__(self, decoder_channels: tuple[int, ...]) -> None:
        super().__init__()
        self.backbone = ResNetEncoder("resnet50")
        ups = [up_conv(decoder_channels[i], decoder_channels[i + 1]) for i in range(len(decoder_channels) - 1)]
        self.decoder = nn.Sequential(
            conv_bn_act(self.backbone.channels[-1], decoder_channels[0], kernel=1),
            *ups,
            nn.ConvTranspose2d(decoder_channels[-1], 2, 4, 2, 1),
        )

    def bottleneck(self, l_norm: Tensor) -> Tensor:
        """The stride-32 ResNet-50 features (N, 2048, H/32, W/32) of an L batch whose sides divide by 32."""
        return self.backbone(l_norm)[-1]

    def forward(self, l_norm: Tensor) -> Tensor:
        x, (h, w) = pad_to_multiple(l_norm, 32)
        return self.decoder(self.bottleneck(x))[..., :h, :w]


@register_model("resnet-cnn")
def resnet_cnn(decoder_channels: tuple[int, ...] = (512, 256, 128, 64, 32), pretrained: bool = False) -> nn.Module:
    """ResNet-50 (random init) on L, 2048-channel bottleneck at 1/32, transposed-conv decoder to ab."""
    require_random_init("resnet-cnn", pretrained)
    if len(decoder_channels) != 5:
        raise ChromagenError("resnet-cnn needs 5 decoder widths: 1/32 -> 1/1 takes five x2 upsamplings")
    return ResNetCNN(tuple(decoder_channels))
