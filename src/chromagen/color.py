"""sRGB <-> CIELAB (D65) on batch-first torch tensors, and the one place that defines model scaling.

Models never see raw Lab: they take ``L`` scaled to [-1, 1] and predict ``ab`` divided by ``AB_SCALE``.
Change the scaling here and every dataset, model and colorizer follows.
"""

import math

import kornia.color
import torch
from torch import Tensor

L_MAX = 100.0
AB_SCALE = 110.0


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1], shape (N, 3, H, W) -> Lab with L in [0, 100] and a, b roughly in [-110, 110]."""
    return kornia.color.rgb_to_lab(rgb.float())


# CIE XYZ -> linear sRGB (kornia's matrix) with the D65 white point folded into its columns.
_XYZ_TO_LINEAR_RGB = (torch.tensor([[3.2404813432005266, -1.5371515162713185, -0.4985363261688878],
                                    [-0.9692549499965682, 1.8759900014898907, 0.0415559265582928],
                                    [0.0556466391351772, -0.2040413383665112, 1.0573110696453443]],
                                   dtype=torch.float64) * torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
                      ).float()
_DELTA = 6.0 / 29.0  # where CIELAB's cube root turns linear
_SLOPE = 3.0 * _DELTA**2  # slope of that linear part
_KNEE = 0.0031308  # where the sRGB curve turns linear


def _linear_rgb(lightness: Tensor, ab: Tensor, scale: Tensor | float = 1.0) -> Tensor:
    """L (*, 1, H, W) and ab (*, 2, H, W) -> linear-light RGB times ``scale`` (*, 3, H, W), not yet clipped.

    Each piecewise curve is the sum of its two pieces on clamped inputs (both pieces meet at the knee), which
    ONNX Runtime runs about 2x faster than kornia's Where and Pow; constants multiply instead of divide."""
    fy = (lightness.float() + 16.0) * (1.0 / 116.0)
    ab = ab.float()
    f = torch.cat([fy + ab[..., :1, :, :] * (1.0 / 500.0), fy,
                   (fy - ab[..., 1:, :, :] * (1.0 / 200.0)).clamp(min=0.0)], dim=-3)
    cube = f.clamp(min=_DELTA)
    xyz = cube * cube * cube + f.clamp(max=_DELTA) * _SLOPE - (_SLOPE * 4.0 / 29.0 + _DELTA**3)
    return torch.matmul(_XYZ_TO_LINEAR_RGB.to(xyz.device) * scale, xyz.flatten(-2)).view_as(xyz)


def srgb_from_linear(rgb: Tensor) -> Tensor:
    """Linear-light RGB -> sRGB in [0, 1] (the sRGB transfer curve, clipped: always displayable)."""
    curve = torch.exp(torch.log(rgb.clamp(_KNEE, 1.0)) / 2.4 + math.log(1.055))
    return (curve + rgb.clamp(0.0, _KNEE) * 12.92 - (0.055 + 12.92 * _KNEE)).clamp(0.0, 1.0)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """Lab (*, 3, H, W) -> sRGB in [0, 1]; out-of-gamut colors are clipped so the result is always displayable.

    The same conversion as ``kornia.color.lab_to_rgb`` (within 2e-5, tested), written for speed: it is the
    costliest step of the torch-free runtime (the exported ``decode_lab`` graph runs on every pixel of every
    output)."""
    return srgb_from_linear(_linear_rgb(lab[..., :1, :, :], lab[..., 1:, :, :]))


def normalize_l(lightness: Tensor) -> Tensor:
    """L in [0, 100] -> model input in [-1, 1]."""
    return lightness / (L_MAX / 2) - 1.0


def denormalize_l(l_norm: Tensor) -> Tensor:
    """Model input in [-1, 1] -> L in [0, 100]."""
    return (l_norm + 1.0) * (L_MAX / 2)


def normalize_ab(ab: Tensor) -> Tensor:
    """ab in Lab units -> model target (about [-1, 1])."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm: Tensor) -> Tensor:
    """Model output -> ab in Lab units."""
    return ab_norm * AB_SCALE


def rgb_to_model_space(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """sRGB batch -> (normalized L, normalized ab): the pair a model trains on."""
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[:, :1]), normalize_ab(lab[:, 1:])


def model_space_to_rgb(l_norm: Tensor, ab_norm: Tensor) -> Tensor:
    """(normalized L, normalized ab) -> sRGB in [0, 1]."""
    lab = torch.cat([denormalize_l(l_norm), denormalize_ab(ab_norm)], dim=1)
    return lab_to_rgb(lab)


def gray_lab(lightness: Tensor) -> Tensor:
    """L batch (N, 1, H, W) -> Lab with ab = 0: the "leave it gray" answer every model is scored against."""
    return torch.cat([lightness, torch.zeros_like(lightness).expand(-1, 2, -1, -1)], dim=1)


def gray_rgb(rgb: Tensor) -> Tensor:
    """The CIELAB lightness of an sRGB batch rendered back as neutral gray sRGB (ab = 0)."""
    return lab_to_rgb(gray_lab(rgb_to_lab(rgb)[:, :1]))


# The steps of the Colorizer's pipeline that touch color. They are exported as ONNX graphs
# (chromagen.export.export_color_graphs) so the torch-free runtime runs this very code, not a copy.

def encode_lightness(rgb: Tensor) -> Tensor:
    """sRGB batch (N, 3, H, W) in [0, 1] -> normalized L (N, 1, H, W): the network's input scale."""
    return normalize_l(rgb_to_lab(rgb)[:, :1])


def encode_ab(rgb: Tensor) -> Tensor:
    """sRGB batch (N, 3, H, W) in [0, 1] -> normalized ab (N, 2, H, W): the scale of user color hints."""
    return normalize_ab(rgb_to_lab(rgb)[:, 1:])


def ab_from_model(ab_norm: Tensor, chroma: Tensor) -> Tensor:
    """A network's normalized ab -> ab in Lab units with the saturation gain ``chroma`` (a 0-d tensor)."""
    return denormalize_ab(ab_norm) * chroma


def decode_lab(l_norm: Tensor, ab: Tensor) -> Tensor:
    """Normalized L (N, 1, H, W) and Lab-unit ab (N, 2, H, W) -> sRGB in [0, 1], channels last (N, H, W, 3):
    the layout of image buffers, so the runtime writes pixels without a strided copy."""
    return srgb_from_linear(_linear_rgb(denormalize_l(l_norm), ab)).permute(0, 2, 3, 1)


def decode_lab_steps(l_norm: Tensor, ab: Tensor, steps: Tensor) -> Tensor:
    """``decode_lab`` for 8-bit output: each channel's linear light in ``steps`` (a 0-d tensor) steps from
    black to white, rounded (int32, channels last). A table of ``srgb_from_linear`` on the steps turns them into
    sRGB levels faster than the curve itself, whose Log was 28 % of ``decode_lab``'s time."""
    linear = _linear_rgb(denormalize_l(l_norm), ab, steps) + 0.5
    return linear.clamp(torch.zeros_like(steps), steps).to(torch.int32).permute(0, 2, 3, 1)
