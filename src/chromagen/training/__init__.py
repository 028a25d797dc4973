"""Training: YAML recipes, the LightningModule and the ``fit`` entry point.

``fit`` (and with it torch and Lightning) is imported on first use, so reading recipes stays instant.
"""

from importlib import import_module
from typing import Any

from chromagen.training.config import Recipe, load_recipe, recipe_from_dict

_LAZY = {"fit": "chromagen.training.fit", "with_overrides": "chromagen.training.fit"}

__all__ = ["Recipe", "fit", "load_recipe", "recipe_from_dict", "with_overrides"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chromagen.training' has no attribute {name!r}")
