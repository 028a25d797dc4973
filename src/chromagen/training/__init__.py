"""Training: YAML recipes (``config``, torch-free), the LightningModule and the ``fit`` entry point.

Only the recipe layer is imported here, so reading recipes stays instant; ``fit`` lives in
``chromagen.training.fit`` and brings torch and Lightning with it.
"""

from chromagen.training.config import Recipe, load_recipe, recipe_from_dict

__all__ = ["Recipe", "load_recipe", "recipe_from_dict"]
