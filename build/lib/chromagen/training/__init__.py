"""Training: YAML recipes, the LightningModule and the ``fit`` entry point."""

from chromagen.training.config import Recipe, load_recipe, recipe_from_dict
from chromagen.training.fit import fit, with_overrides

__all__ = ["Recipe", "fit", "load_recipe", "recipe_from_dict", "with_overrides"]
