"""The damage of old prints, simulated on a batch of training lightness (all on the training device).

Historical photos are faded, grainy, soft, scanned to JPEG and scratched; a model trained only on clean
photos meets them as unfamiliar input and falls back to timid colors. Damaging the input (never the ab
target) teaches it to give a damaged print the colors of its clean scene. Each kind strikes each photo
with its own probability and a uniformly drawn strength (``DegradeConfig``).
"""

import torch
from kornia.enhance import jpeg_codec_differentiable
from kornia.filters import gaussian_blur2d
from torch import Tensor

from chromagen.training.config import DegradeConfig


def _strike(n: int, p: float, like: Tensor) -> Tensor:
    """(n, 1, 1, 1) float mask: 1 for the photos a damage of probability ``p`` strikes."""
    return (torch.rand(n, 1, 1, 1, device=like.device) < p).to(like.dtype)


def _uniform(n: int, low: float, high: float, like: Tensor) -> Tensor:
    return low + (high - low) * torch.rand(n, 1, 1, 1, device=like.device, dtype=like.dtype)


def fade(x: Tensor, cfg: DegradeConfig) -> Tensor:
    """Lower contrast around a lifted mid-gray and bend the tone curve, as a faded print does."""
    n = len(x)
    contrast = _uniform(n, 1 - cfg.max_fade, 1.0, x)
    lift = _uniform(n, 0.0, cfg.max_fade / 2, x)
    gamma = torch.exp(_uniform(n, -0.3, 0.3, x))
    unit = 0.5 + contrast * (((x + 1) / 2).clamp(0, 1) ** gamma - 0.5)
    faded = (lift + (1 - lift) * unit) * 2 - 1
    return torch.lerp(x, faded, _strike(n, cfg.p_fade, x))


def blur(x: Tensor, cfg: DegradeConfig) -> Tensor:
    """Gaussian softness of an old lens or print, a sigma per photo."""
    n = len(x)
    sigma = _uniform(n, 0.05, cfg.max_blur_sigma, x).view(n, 1).expand(n, 2).float()
    size = 2 * int(3 * cfg.max_blur_sigma + 0.5) + 1
    return torch.lerp(x, gaussian_blur2d(x.float(), size, sigma).to(x.dtype), _strike(n, cfg.p_blur, x))


def grain(x: Tensor, cfg: DegradeConfig) -> Tensor:
    """Film grain: slightly clumped (blurred) noise, stronger in the mid-tones."""
    n = len(x)
    noise = gaussian_blur2d(torch.randn_like(x, dtype=torch.float32), 3, torch.full((n, 2), 0.6, device=x.device))
    noise = noise / noise.std(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
    strength = _uniform(n, 0.0, cfg.max_grain, x) * _strike(n, cfg.p_grain, x)
    midtones = 1 - x.square() * 0.5
    return (x + noise.to(x.dtype) * strength * midtones).clamp(-1, 1)


def jpeg(x: Tensor, cfg: DegradeConfig) -> Tensor:
    """JPEG blocking and ringing of a low-quality scan (kornia's differentiable codec on gray RGB)."""
    n = len(x)
    quality = _uniform(n, cfg.min_jpeg_quality, 95.0, x).flatten().float()
    gray = ((x.float() + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)
    coded = jpeg_codec_differentiable(gray, quality)[:, :1] * 2 - 1
    return torch.lerp(x, coded.to(x.dtype), _strike(n, cfg.p_jpeg, x))


def scratches(x: Tensor, cfg: DegradeConfig) -> Tensor:
    """Up to ``max_scratches`` thin light or dark lines across a photo, at random angles."""
    n, _, h, w = x.shape
    k = max(1, cfg.max_scratches)
    rows = torch.linspace(-1, 1, h, device=x.device).view(1, 1, h, 1)
    cols = torch.linspace(-1, 1, w, device=x.device).view(1, 1, 1, w)
    # Mostly near-vertical (along the film), a few at any angle.
    vertical = torch.rand(n, k, 1, 1, device=x.device) < 0.7
    angle = (torch.rand(n, k, 1, 1, device=x.device) - 0.5) * torch.where(vertical, 0.3, torch.pi)
    offset = torch.rand(n, k, 1, 1, device=x.device) * 2 - 1
    distance = (cols * torch.cos(angle) + rows * torch.sin(angle) - offset).abs() * (max(h, w) / 2)
    on = torch.arange(k, device=x.device).view(1, k, 1, 1) < torch.randint(1, k + 1, (n, 1, 1, 1), device=x.device)
    line = ((distance < 0.7) & on).any(dim=1, keepdim=True).to(x.dtype) * _strike(n, cfg.p_scratches, x)
    value = torch.where(torch.rand(n, 1, 1, 1, device=x.device) < 0.6, 0.9, -0.9).to(x.dtype)
    return torch.lerp(x, value.expand_as(x), line * 0.8)


def degrade_lightness(l_norm: Tensor, cfg: DegradeConfig) -> Tensor:
    """A batch of normalized L (N, 1, H, W) with old-print damage, in the order a print suffers it.

    Computed in float32 outside autocast: the damage is data, not part of the model's mixed-precision graph.
    """
    with torch.no_grad(), torch.autocast(l_norm.device.type, enabled=False):
        x = l_norm.float()
        for damage in (fade, blur, grain, scratches, jpeg):
            x = damage(x, cfg)
        return x.to(l_norm.dtype).contiguous(memory_format=torch.channels_last)
