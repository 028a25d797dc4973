"""Deep Koalarization (Baldassarre et al. 2017) / "Let there be Color!" (Iizuka et al. 2016) style fusion.

A conv trunk sees local structure in L; a pretrained classifier sees the whole picture once. Its pooled
features are tiled over the trunk's grid and fused by a 1x1 conv, so "this is a beach" informs every pixel.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.models.common import conv_bn_act, pad_to_multiple
from chromagen.models.encoders import create_encoder
from chromagen.models.registry import register_model


class FusionColorizer(nn.Module):
    """Koalarization's layout: 8-conv trunk to 1/8 with 256 channels, fusion, conv/upsample decoder, tanh.

    The classifier is ``encoder`` so training gives it the reduced ``encoder_lr_mult`` learning rate
    (Koalarization keeps Inception frozen: ``encoder_lr_mult: 0``). It always sees the image resized to
    ``classifier_size`` squared, its native resolution, so the global features do not depend on photo size.
    Without ``global_branch`` it is the same trunk and decoder alone: the twin that says what fusion adds.
    """

    def __init__(self, encoder: str, pretrained: bool, classifier_size: int, global_branch: bool = True) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            conv_bn_act(1, 64, stride=2), conv_bn_act(64, 128), conv_bn_act(128, 128, stride=2),
            conv_bn_act(128, 256), conv_bn_act(256, 256, stride=2), conv_bn_act(256, 512),
            conv_bn_act(512, 512), conv_bn_act(512, 256),
        )
        self.encoder = create_encoder(encoder, pretrained=pretrained) if global_branch else None
        self.classifier_size = classifier_size
        self.fuse = conv_bn_act(256 + (self.encoder.channels[-1] if self.encoder is not None else 0), 256, kernel=1)
        self.decoder = nn.Sequential(
            conv_bn_act(256, 128), nn.Upsample(scale_factor=2),
            conv_bn_act(128, 64), conv_bn_act(64, 64), nn.Upsample(scale_factor=2),
            conv_bn_act(64, 32), nn.Conv2d(32, 2, 3, padding=1), nn.Tanh(), nn.Upsample(scale_factor=2),
        )

    def global_features(self, l_norm: Tensor) -> Tensor:
        """(N, C) pooled last-stage classifier features of the whole image."""
        assert self.encoder is not None
        size = (self.classifier_size, self.classifier_size)
        thumb = F.interpolate(l_norm, size=size, mode="bilinear", align_corners=False, antialias=True)
        return self.encoder(thumb)[-1].mean(dim=(2, 3))

    def forward(self, l_norm: Tensor) -> Tensor:
        x, (h, w) = pad_to_multiple(l_norm, 8)
        local = self.trunk(x)
        if self.encoder is not None:
            glob = self.global_features(l_norm)[:, :, None, None].expand(-1, -1, *local.shape[-2:])
            local = torch.cat([local, glob], dim=1)
        return self.decoder(self.fuse(local))[..., :h, :w]


@register_model("fusion")
def fusion(encoder: str = "efficientnet-lite0", pretrained: bool = True, classifier_size: int = 224,
           global_branch: bool = True) -> nn.Module:
    """Deep Koalarization: conv trunk on L fused with pooled ImageNet-classifier features at the bottleneck
    (``global_branch: false``: the trunk alone, the controlled twin)."""
    return FusionColorizer(encoder, pretrained, classifier_size, global_branch)
