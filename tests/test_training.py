"""Training v0 through the CLI: a tiny recipe trains, writes TensorBoard logs, resumes, and colorizes."""

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from chromagen.cli import app
from chromagen.errors import ChromagenError
from chromagen.training import load_recipe

runner = CliRunner()


TINY_MODEL = {"pretrained": False, "decoder_channels": [16, 16, 16, 16]}


def _tiny_recipe(tmp_path: Path, images: Path, on_device: bool = False, **changes: Any) -> Path:
    """A 2-step recipe on ``images``; ``changes`` set top-level keys, and a mapping merges into its section."""
    recipe: dict[str, Any] = {
        "model": {"name": "effnet-unet", "kwargs": TINY_MODEL},
        "data": {"train": [str(images)], "val": [str(images)], "crop_size": 32, "batch_size": 4,
                 "num_workers": 0, "val_limit": 4, "on_device": on_device},
        "trainer": {"max_steps": 2, "val_every_steps": 2, "log_every_steps": 1},
    }
    for key, value in changes.items():
        recipe[key] = {**recipe[key], **value} if isinstance(value, dict) and key in recipe else value
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _start_weights(tmp_path: Path, head_bias: float | None = None) -> tuple[nn.Module, str]:
    """A seeded random tiny generator saved (fp32) for ``init_from``, optionally with a constant head bias."""
    from chromagen.models import create_model
    from chromagen.models.weights import save_generator

    torch.manual_seed(0)
    model = create_model("effnet-unet", **TINY_MODEL)
    if head_bias is not None:
        with torch.no_grad():
            model.head.bias.fill_(head_bias)
    return model, str(save_generator(model, "effnet-unet", TINY_MODEL, tmp_path / "start.safetensors", half=False))


def _step(ckpt: Path) -> int:
    return torch.load(ckpt, map_location="cpu", weights_only=False)["global_step"]


def test_train_resume_and_colorize(tmp_path: Path, image_dir: Path) -> None:
    config, run = _tiny_recipe(tmp_path, image_dir), tmp_path / "run"
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run)])
    assert result.exit_code == 0, result.output
    assert _step(run / "checkpoints" / "last.ckpt") == 2
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert (run / "model.safetensors").is_file()

    # A second call continues from the last checkpoint instead of starting over.
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run), "--max-steps", "3"])
    assert result.exit_code == 0, result.output
    assert _step(run / "checkpoints" / "last.ckpt") == 3

    out = tmp_path / "out"
    photo = image_dir / "img00.jpg"
    for model in (run / "checkpoints" / "last.ckpt", run / "model.safetensors"):
        result = runner.invoke(app, ["colorize", str(photo), "-o", str(out), "--overwrite", "--model", str(model)])
        assert result.exit_code == 0, result.output
        assert Image.open(out / "img00.jpg").size == Image.open(photo).size


def test_early_stopping_ends_a_run_that_stops_improving(tmp_path: Path, image_dir: Path) -> None:
    # A zero learning rate never improves val PSNR: patience 1 stops at the second validation (step 4).
    config = _tiny_recipe(tmp_path, image_dir, optim={"lr": 0.0}, trainer={"max_steps": 20, "early_stop_patience": 1})
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run)])
    assert result.exit_code == 0, result.output
    assert _step(run / "checkpoints" / "last.ckpt") == 4
    assert (run / "model.safetensors").is_file()


def test_best_checkpoint_is_ranked_by_its_own_validation(tmp_path: Path, image_dir: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # Start far off (a saturated constant color) so every validation improves on the last: the best is the
    # final checkpoint, and it must carry the final validation's score, not the one before.
    _, start = _start_weights(tmp_path, head_bias=0.8)
    config = _tiny_recipe(tmp_path, image_dir, init_from=start, optim={"lr": 0.01, "warmup_steps": 1},
                          trainer={"max_steps": 8})
    run = tmp_path / "run"
    assert runner.invoke(app, ["train", "--config", str(config), "--output", str(run)]).exit_code == 0
    events = EventAccumulator(str(next((run / "tensorboard").glob("events.out.tfevents.*"))))
    events.Reload()
    scores = [(e.step + 1, e.value) for e in events.Scalars("val/psnr")]  # logged at the last batch's index
    assert [step for step, _ in scores] == [2, 4, 6, 8]
    assert all(a[1] < b[1] for a, b in zip(scores, scores[1:])), scores
    (best,) = (run / "checkpoints").glob("step*.ckpt")
    state = torch.load(best, map_location="cpu", weights_only=False)
    assert state["global_step"] == 8
    ranked = [v for k, v in state["callbacks"].items() if "val/psnr" in k][0]["best_model_score"]
    assert float(ranked) == pytest.approx(scores[-1][1])


def test_frozen_encoder_waits_while_the_decoder_learns(tmp_path: Path, image_dir: Path) -> None:
    from chromagen.models.weights import load_generator

    start, path = _start_weights(tmp_path)
    config = _tiny_recipe(tmp_path, image_dir, init_from=path,
                          optim={"lr": 0.01, "warmup_steps": 1, "freeze_encoder_steps": 2},
                          trainer={"max_steps": 3, "val_every_steps": 2})
    weights = {}
    for steps in (2, 3):
        run = tmp_path / f"run{steps}"
        result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run),
                                     "--max-steps", str(steps)])
        assert result.exit_code == 0, result.output
        assert _step(run / "checkpoints" / "last.ckpt") == steps  # also when a run ends between two saves
        weights[steps] = load_generator(run / "checkpoints" / "last.ckpt")[0]
    frozen, thawed = weights[2], weights[3]
    assert all(torch.equal(a, b) for a, b in zip(start.encoder.parameters(), frozen.encoder.parameters()))
    assert not torch.equal(start.head.weight, frozen.head.weight)
    assert not all(torch.equal(a, b) for a, b in zip(start.encoder.parameters(), thawed.encoder.parameters()))


def test_tar_shards_are_training_data(tmp_path: Path, image_dir: Path) -> None:
    import tarfile

    from chromagen.data import CropDataset, find_images

    shard = tmp_path / "train-000.tar"
    with tarfile.open(shard, "w") as tar:
        for p in sorted(image_dir.iterdir()):
            tar.add(p, arcname=f"objects-{p.name}")
    refs = find_images([shard])
    assert len(refs) == 12 and refs[0].name == "objects-img00.jpg"
    assert refs[0].read_bytes() == (image_dir / "img00.jpg").read_bytes()
    crop = CropDataset(refs, 24, train=True)[0]
    assert crop.shape == (3, 24, 24) and crop.dtype == torch.uint8


def test_recipes_reject_unknown_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {name: effnet-unet}\ntrainer: {max_stepz: 3}\n")
    with pytest.raises(ChromagenError, match="max_stepz"):
        load_recipe(bad)


def test_shipped_recipes_parse() -> None:
    from chromagen.training.config import RECIPES

    assert len(list(RECIPES.glob("*.yaml"))) >= 10
    for path in RECIPES.glob("*.yaml"):
        load_recipe(path)


def test_unreadable_training_images_are_substituted(tmp_path: Path, image_dir: Path) -> None:
    from chromagen.data import CropDataset, find_images

    (image_dir / "broken.jpg").write_bytes(b"not a jpeg")
    refs = find_images([image_dir])
    broken = next(i for i, r in enumerate(refs) if r.name.endswith("broken.jpg"))
    assert CropDataset(refs, 16, train=False)[broken].shape == (3, 16, 16)
    only_broken = [refs[broken]]
    with pytest.raises(ChromagenError, match="unreadable"):
        CropDataset(only_broken, 16, train=True)[0]


@pytest.mark.parametrize("on_device", [False, True], ids=["dataloader", "device-bank"])
def test_resume_is_exact(tmp_path: Path, image_dir: Path, on_device: bool) -> None:
    """4 steps straight == 2 steps, stop, resume to 4: same weights, optimizer and schedule state."""
    config = _tiny_recipe(tmp_path, image_dir, on_device)
    straight, split = tmp_path / "straight", tmp_path / "split"
    for run, steps in ((straight, "4"), (split, "2"), (split, "4")):
        result = runner.invoke(app, ["train", "--config", str(config), "--output", str(run), "--max-steps", steps])
        assert result.exit_code == 0, result.output
    a, b = (torch.load(r / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
            for r in (straight, split))
    assert a["global_step"] == b["global_step"] == 4 and a["batches_seen"] == b["batches_seen"] == 4
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    assert a["lr_schedulers"] == b["lr_schedulers"]


def test_sampler_resumes_mid_stream_and_shards() -> None:
    from itertools import islice

    from chromagen.data.samplers import ResumableSampler, decode_key

    full = list(islice(iter(ResumableSampler(10, seed=3)), 25))
    assert list(islice(iter(ResumableSampler(10, seed=3, start=7)), 18)) == full[7:]
    assert sorted(decode_key(k, 10)[0] for k in full[:10]) == list(range(10))  # an epoch is a permutation
    assert [decode_key(k, 10)[1] for k in full] == list(range(25))


def test_prior_command_and_classification_recipe_use_it(tmp_path: Path, image_dir: Path) -> None:
    import numpy as np

    from chromagen.models.weights import load_generator

    prior = tmp_path / "prior.npy"
    result = runner.invoke(app, ["prior", "--data", str(image_dir), "--output", str(prior), "--limit", "6"])
    assert result.exit_code == 0, result.output
    values = np.load(prior)
    assert values.shape == (313,) and abs(values.sum() - 1) < 1e-5
    config = _tiny_recipe(tmp_path, image_dir, loss="classification", classification={"prior": str(prior)},
                          model={"name": "classifier",
                                 "kwargs": {"pretrained": False, "decoder_channels": [16, 16, 16]}})
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    model, _ = load_generator(tmp_path / "run" / "model.safetensors")
    assert np.allclose(model.prior.numpy(), values, atol=1e-3)  # fp16 file: saved with the model


def test_sigterm_stops_at_a_step_and_still_exports(tmp_path: Path, image_dir: Path) -> None:
    """A run killed by a time limit (SIGTERM) keeps what it learned: the last checkpoint and the weights.

    ``timeout`` and batch schedulers signal the whole process group, data loader workers included (a GPU run
    of 2026-11-27 lost three runs when a worker died first and crashed the orderly stop)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from safetensors import safe_open

    config = _tiny_recipe(tmp_path, image_dir, trainer={"max_steps": 100000, "val_every_steps": 2},
                          data={"num_workers": 1})
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    job = subprocess.Popen([sys.executable, "-m", "chromagen", "train", "--config", str(config), "--output", str(run)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (run / "checkpoints" / "last.ckpt").is_file() and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGTERM)
    output, _ = job.communicate(timeout=120)
    assert job.returncode != 0 and "stopped by SIGTERM" in output, output[-2000:]
    with safe_open(str(run / "model.safetensors"), framework="pt") as fh:
        step = int(fh.metadata()["step"])
    assert 2 <= step < 100000 and _step(run / "checkpoints" / "last.ckpt") == step
