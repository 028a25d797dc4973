"""Building blocks shared by the architectures."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Reflect-pad H and W up to a multiple (so any input size works); returns the original (H, W).

    The pad is applied unconditionally (a zero pad is a no-op) so that an ONNX export with dynamic
    height and width keeps it for every size rather than baking in the example's.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def conv_bn_act(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Conv -> BatchNorm -> ReLU, the decoder's workhorse."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UpBlock(nn.Module):
    """U-Net decoder step: upsample x2, concatenate the skip, two 3x3 convs."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(conv_bn_act(cin + cskip, cout), conv_bn_act(cout, cout))

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.convs(torch.cat([x, skip], dim=1))


def down_conv(cin: int, cout: int, norm: bool = True, stride: int = 2) -> nn.Sequential:
    """4x4 conv -> BatchNorm -> LeakyReLU(0.2); stride 2 halves an even H, W exactly (DCGAN / pix2pix)."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def up_conv(cin: int, cout: int, dropout: float = 0.0) -> nn.Sequential:
    """4x4 stride-2 transposed conv -> BatchNorm -> ReLU (-> Dropout): doubles H, W exactly."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                               nn.ReLU(inplace=True)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
