"""pix2pix (Isola et al., CVPR 2017): the U-Net-256 generator and the 70x70 PatchGAN discriminator."""

import torch
from torch import Tensor, nn

from chromagen.models.common import down_conv, pad_to_multiple, up_conv
from chromagen.models.encoders import require_random_init
from chromagen.models.registry import register_model


class Pix2PixUNet(nn.Module):
    """``num_downs`` stride-2 4x4 convs (8: a 256 px input reaches 1x1), mirrored by transposed convs with skips.

    Any input size: the input is padded to a multiple of 2**num_downs (256) and the output cropped back.
    Padding keeps every level's size exactly half the one above, so skips align without resampling and
    the innermost features are 1x1 as in the paper. The price is compute on padding for sizes that are not
    multiples of 256 (a 300x400 photo runs at 512x512, a 128 px training crop at 256x256): for 128 px
    training use ``num_downs=7`` (pix2pix's U-Net-128).
    Dropout (0.5) on the three decoder blocks after the innermost one, as in pix2pix; tanh output.
    """

    def __init__(self, num_downs: int, base: int, max_width: int, dropout: float) -> None:
        super().__init__()
        widths = [min(base * 2**i, max_width) for i in range(num_downs)]
        ins = [1, *widths[:-1]]
        # No norm on the outermost level (raw L) nor the innermost one (1x1: nothing to normalize over).
        self.downs = nn.ModuleList(
            down_conv(i, o, norm=0 < k < num_downs - 1) for k, (i, o) in enumerate(zip(ins, widths))
        )
        self.inner_up = up_conv(widths[-1], widths[-2])
        # Level k (k = num_downs-2 .. 1) takes [decoder, skip_k] and returns level k-1's width.
        self.ups = nn.ModuleList(
            up_conv(2 * widths[k], widths[k - 1], dropout if k >= 4 else 0.0) for k in range(num_downs - 2, 0, -1)
        )
        self.outer_up = nn.Sequential(nn.ConvTranspose2d(2 * widths[0], 2, 4, 2, 1), nn.Tanh())
        self.factor = 2**num_downs

    def forward(self, l_norm: Tensor) -> Tensor:
        x, (h, w) = pad_to_multiple(l_norm, self.factor)
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        y = self.inner_up(skips[-1])
        for up, skip in zip(self.ups, reversed(skips[1:-1])):
            y = up(torch.cat([y, skip], dim=1))
        return self.outer_up(torch.cat([y, skips[0]], dim=1))[..., :h, :w]


@register_model("unet")
def unet(num_downs: int = 8, base: int = 64, max_width: int = 512, dropout: float = 0.5,
         pretrained: bool = False) -> nn.Module:
    """pix2pix U-Net-256 generator: 8 strided-conv downsamplings to 1x1, skip connections, tanh output."""
    require_random_init("unet", pretrained)
    return Pix2PixUNet(num_downs, base, max_width, dropout)


class PatchGAN(nn.Module):
    """Conv layers whose every output logit sees a 70x70 input patch (n_layers=3): judges texture, not layout.

    ``spectral_norm`` (Miyato et al. 2018) bounds every layer's Lipschitz constant instead of BatchNorm:
    the discriminator cannot win by a landslide, so the generator keeps getting useful gradients.
    """

    def __init__(self, in_channels: int, base: int, n_layers: int, spectral_norm: bool = False) -> None:
        super().__init__()
        widths = [base * min(2**i, 8) for i in range(n_layers + 1)]
        norm = not spectral_norm
        layers = [down_conv(in_channels, widths[0], norm=False)]
        layers += [down_conv(widths[i - 1], widths[i], norm=norm) for i in range(1, n_layers)]
        layers += [down_conv(widths[-2], widths[-1], norm=norm, stride=1), nn.Conv2d(widths[-1], 1, 4, 1, 1)]
        self.body = nn.Sequential(*layers)
        if spectral_norm:
            for conv in [m for m in self.body.modules() if isinstance(m, nn.Conv2d)]:
                nn.utils.parametrizations.spectral_norm(conv)

    def forward(self, lab: Tensor) -> Tensor:
        return self.body(lab)


@register_model("patchgan", kind="discriminator")
def patchgan(in_channels: int = 3, base: int = 64, n_layers: int = 3, spectral_norm: bool = False,
             pretrained: bool = False) -> nn.Module:
    """pix2pix 70x70 PatchGAN discriminator on concat(L, ab): one realness logit per overlapping patch."""
    require_random_init("patchgan", pretrained)
    return PatchGAN(in_channels, base, n_layers, spectral_norm)
