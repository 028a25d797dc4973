"""The same recipe under Lightning DDP: two CPU processes (gloo) train a few steps together."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path: Path, image_dir: Path) -> None:
    recipe = {
        "model": {"name": "effnet-unet", "kwargs": {"pretrained": False, "decoder_channels": [16, 16, 16, 16]}},
        "data": {"train": [str(image_dir)], "val": [str(image_dir)], "crop_size": 32, "batch_size": 2,
                 "num_workers": 0, "val_limit": 4},
        "trainer": {"max_steps": 3, "val_every_steps": 3, "accelerator": "cpu", "devices": 2, "strategy": "ddp"},
    }
    config = tmp_path / "ddp.yaml"
    config.write_text(yaml.safe_dump(recipe))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "chromagen", "train", "--config", str(config), "--output",
                             str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=600,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = result.stderr + result.stdout
    assert "distributed_backend=gloo" in log
    assert "MEMBER: 1/2" in log and "MEMBER: 2/2" in log  # both ranks joined the process group
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 3
    assert (tmp_path / "run" / "model.safetensors").is_file()
