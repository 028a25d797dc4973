"""Plain convolutional networks: the baseline encoder-decoder and a plain CNN discriminator."""

from torch import Tensor, nn

from chromagen.models.common import down_conv, pad_to_multiple, up_conv
from chromagen.models.encoders import require_random_init
from chromagen.models.registry import register_model


class PlainCNN(nn.Module):
    """Strided convs down, transposed convs up, no skips: every detail must squeeze through the bottleneck."""

    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.factor = 2 ** len(widths)
        ins = (1, *widths[:-1])
        self.down = nn.Sequential(*(down_conv(i, o, norm=k > 0) for k, (i, o) in enumerate(zip(ins, widths))))
        ups = [up_conv(widths[k], widths[k - 1]) for k in range(len(widths) - 1, 0, -1)]
        self.up = nn.Sequential(*ups, nn.ConvTranspose2d(widths[0], 2, 4, 2, 1))

    def forward(self, l_norm: Tensor) -> Tensor:
        x, (h, w) = pad_to_multiple(l_norm, self.factor)
        return self.up(self.down(x))[..., :h, :w]


@register_model("cnn")
def cnn(widths: tuple[int, ...] = (64, 128, 256, 512), pretrained: bool = False) -> nn.Module:
    """Plain conv encoder-decoder (strided convs down, transposed convs up): the MSE baseline."""
    require_random_init("cnn", pretrained)
    return PlainCNN(tuple(widths))


class PlainDiscriminator(nn.Module):
    """Strided 4x4 convs to 1/16, then a 3x3 conv to one realness logit per patch."""

    def __init__(self, in_channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        ins = (in_channels, *widths[:-1])
        self.body = nn.Sequential(
            *(down_conv(i, o, norm=k > 0) for k, (i, o) in enumerate(zip(ins, widths))),
            nn.Conv2d(widths[-1], 1, 3, padding=1),
        )

    def forward(self, lab: Tensor) -> Tensor:
        return self.body(lab)


@register_model("cnn-discriminator", kind="discriminator")
def cnn_discriminator(in_channels: int = 3, widths: tuple[int, ...] = (64, 128, 256, 512),
                      pretrained: bool = False) -> nn.Module:
    """Plain CNN discriminator on concat(L, ab): strided convs to a 1/16-resolution realness map."""
    require_random_init("cnn-discriminator", pretrained)
    return PlainDiscriminator(in_channels, tuple(widths))
