"""sRGB <-> CIELAB (D65) on batch-first torch tensors, and the one place that defines model scaling.

Models never see raw Lab: they take ``L`` scaled to [-1, 1] and predict ``ab`` divided by ``AB_SCALE``.
Change the scaling here and every dataset, model and colorizer follows.
"""

import kornia.color
import torch
from torch import Tensor

L_MAX = 100.0
AB_SCALE = 110.0


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1], shape (N, 3, H, W) -> Lab with L in [0, 100] and a, b roughly in [-110, 110]."""
    return kornia.color.rgb_to_lab(rgb.float())


def lab_to_rgb(lab: Tensor) -> Tensor:
    """Lab -> sRGB in [0, 1]; out-of-gamut colors are clipped so the result is always displayable."""
    return kornia.color.lab_to_rgb(lab.float(), clip=True)


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


# The four steps of the Colorizer's pipeline that touch color. They are exported as ONNX graphs
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
    """Normalized L (N, 1, H, W) and Lab-unit ab (N, 2, H, W) -> sRGB in [0, 1]."""
    return lab_to_rgb(torch.cat([denormalize_l(l_norm), ab], dim=1))
