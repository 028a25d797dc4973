"""Every shipped recipe trains 2 steps on tiny generated images, saves, and colorizes through the CLI."""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from chromagen.cli import app
from chromagen.models import create_model
from chromagen.models.weights import save_generator
from chromagen.training import load_recipe
from chromagen.training.config import RECIPES

CONFIGS = sorted(RECIPES.glob("*.yaml"))
runner = CliRunner()


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_recipe_trains_saves_and_colorizes(config: Path, tmp_path: Path, image_dir: Path) -> None:
    recipe = load_recipe(config)
    kwargs = {**recipe.model.kwargs, "pretrained": False}  # ImageNet weights are tested elsewhere
    init_from = None
    if recipe.init_from:  # a second-stage recipe starts from a first-stage generator
        init_from = str(save_generator(create_model(recipe.model.name, **kwargs), recipe.model.name, kwargs,
                                       tmp_path / "stage-a.safetensors"))
    recipe = replace(
        recipe,
        model=replace(recipe.model, kwargs=kwargs),
        data=replace(recipe.data, train=[str(image_dir)], val=[str(image_dir)], crop_size=32, batch_size=2,
                     num_workers=0, val_limit=2),
        trainer=replace(recipe.trainer, max_steps=2, val_every_steps=2),
        classification=replace(recipe.classification, prior_images=8),
        init_from=init_from,
    )
    small = tmp_path / f"{config.stem}.yaml"
    small.write_text(yaml.safe_dump(recipe.to_dict()))
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--config", str(small), "--output", str(run)])
    assert result.exit_code == 0, result.output
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    checkpoint = run / "checkpoints" / "last.ckpt"
    photo = image_dir / "img03.jpg"
    result = runner.invoke(app, ["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(checkpoint),
                                 "--size", "48"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out" / "img03.jpg").size == Image.open(photo).size
