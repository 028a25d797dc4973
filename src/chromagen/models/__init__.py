"""Models: import the architecture modules so that they register themselves."""

from chromagen.models import unet  # noqa: F401  (registers architectures)
from chromagen.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
