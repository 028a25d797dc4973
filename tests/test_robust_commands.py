"""Recipes, runs, checkpoints and the model listing: the usability defects of issue #10."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from chromagen.cli import app
from chromagen.errors import ChromagenError
from chromagen.training.config import RECIPES, load_recipe, recipe_names
from tests.test_training import _tiny_recipe

runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src"


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_recipes_by_name_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_recipe("default").model.name == "effnet-unet"
    assert RECIPES.parent.name == "chromagen" and (RECIPES / "default.yaml").is_file()  # package data
    assert "default" in recipe_names()
    with pytest.raises(ChromagenError, match="unknown recipe 'no-such'"):
        load_recipe("no-such")


def test_paths_in_a_recipe_file_are_relative_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exp").mkdir()
    recipe = tmp_path / "exp" / "r.yaml"
    recipe.write_text("data: {train: [photos, /abs/shards], val: [../val]}\ninit_from: start.safetensors\n")
    monkeypatch.chdir("/")
    loaded = load_recipe(recipe)
    assert loaded.data.train == [str(tmp_path / "exp" / "photos"), "/abs/shards"]
    assert loaded.data.val == [str(tmp_path / "exp" / ".." / "val")]
    assert loaded.init_from == str(tmp_path / "exp" / "start.safetensors")


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("optim: {lr: fast}", "optim.lr: expected a number, got 'fast'"),
    ("trainer: {max_steps: 2.5}", "trainer.max_steps: expected an integer, got 2.5"),
    ("data: {train: photos}", "data.train: expected a list, got 'photos'"),
    ("trainer: {compile: 'yes'}", "trainer.compile: expected true or false, got 'yes'"),
])
def test_recipe_values_are_type_checked(tmp_path: Path, yaml_text: str, message: str) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml_text + "\n")
    with pytest.raises(ChromagenError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_recipe(recipe)
    result = runner.invoke(app, ["train", "--config", str(recipe), "--output", str(tmp_path / "run")])
    assert result.exit_code == 2 and len(_errors(result.output)) == 1 and "Traceback" not in result.output


def test_yaml_exponent_without_a_dot_is_a_number(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim: {lr: 1e-3}\n")  # YAML 1.1 reads this as a string
    assert load_recipe(recipe).optim.lr == 0.001


@pytest.mark.parametrize("args", [
    ["evaluate", "--model", "gray", "--data", "{data}", "--limit", "-21"],
    ["evaluate", "--model", "gray", "--data", "{data}", "--limit", "0"],
    ["prior", "--data", "{data}", "--limit", "0"],
    ["train", "--config", "default", "--max-steps", "0"],
])
def test_counts_below_one_are_usage_errors(args: list[str], image_dir: Path) -> None:
    result = runner.invoke(app, [a.format(data=image_dir) for a in args])
    assert result.exit_code == 2 and "must be at least 1" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ["train", "--config", "cnn", "--data", "{data}", "--output", "{file}/run"],
    ["prior", "--data", "{data}", "--output", "{file}/prior.npy"],
    ["compare", "--recipes", "cnn", "--data", "{data}", "--eval-data", "{data}", "--output", "{file}/cmp"],
])
def test_an_output_that_cannot_be_a_folder_is_a_usage_error_before_work(args: list[str], image_dir: Path,
                                                                         tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = runner.invoke(app, [a.format(data=image_dir, file=tmp_path / "a-file") for a in args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    first = _errors(result.output)[0]
    assert "a-file" in first and ("cannot write to the output folder" in first or "a file, not a folder" in first)


@pytest.mark.slow
def test_a_run_is_never_silently_resumed_with_another_recipe(tmp_path: Path, image_dir: Path,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    config = _tiny_recipe(tmp_path, image_dir)
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run)])
    assert result.exit_code == 0, result.output
    noise = result.output + "".join(capfd.readouterr())
    assert "litlogger" not in noise and "/-2" not in noise and "pytree" not in noise  # no Lightning chatter
    for changes in ({"optim": {"lr": 0.5}}, {"data": {"train": [str(tmp_path)]}}):
        _tiny_recipe(tmp_path, image_dir, **changes)
        result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run)])
        assert result.exit_code == 2 and "--no-resume" in result.output, result.output
    _tiny_recipe(tmp_path, image_dir)
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run), "--max-steps", "1"])
    assert result.exit_code == 2 and "already trained for 2 steps" in result.output
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run), "--max-steps", "1",
                                 "--no-resume"])
    assert result.exit_code == 0, result.output
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 1


class _Payload:
    """Unpickling this runs code: what a hostile checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_cannot_run_code_when_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    with open(evil, "wb") as fh:
        pickle.dump({"state_dict": {}, "hyper_parameters": _Payload(marker)}, fh)
    from chromagen.models.weights import load_generator

    with pytest.raises(ChromagenError, match="refused"):
        load_generator(evil)
    result = runner.invoke(app, ["colorize", str(evil), "--model", str(evil), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and len(_errors(result.output)) == 1
    assert not marker.exists()


def test_models_lists_catalogue_and_recipes_without_torch() -> None:
    code = ("import sys; from chromagen.cli import app\n"
            "try: app(['models'])\nexcept SystemExit: pass\nprint('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("False")
    assert "default" in done.stdout and "effnet-unet" in done.stdout and "gan-resnet-cnn" in done.stdout


def test_catalogue_entries_and_recipes_name_real_architectures() -> None:
    from chromagen.catalog import bundled
    from chromagen.models import list_models
    from chromagen.training.config import recipe_summaries

    generators = {entry.name for entry in list_models("generator")}
    builders = [entry.builder for entry in list_models()]
    assert len(builders) == len(set(builders))  # one name per builder
    for entry in bundled():
        assert entry.path.is_file() and entry.architecture in generators
    for name, architecture, _, _ in recipe_summaries():
        assert architecture in generators, name
        assert yaml.safe_load((RECIPES / f"{name}.yaml").read_text())
