"""Models: import the architecture modules so that they register themselves."""

from chromagen.models import (  # noqa: F401  (registers architectures)
    attention_unet,
    classification,
    cnn,
    fusion,
    hint_unet,
    pix2pix,
    resnet,
    resnet_unet,
    unet,
)
from chromagen.models.registry import create_model, list_models, predict_ab, register_model

__all__ = ["create_model", "list_models", "predict_ab", "register_model"]
