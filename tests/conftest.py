"""Shared fixtures: small generated images and an untrained (random) model file, never the shards."""

import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# ONNX Runtime's optimized copies of the models the tests load (``onnx_backend.optimized_path``) go to a
# folder of this test run, which every command the tests start inherits: never the user's cache.
os.environ["CHROMAGEN_ONNX_CACHE"] = tempfile.mkdtemp(prefix="chromagen-onnx-")
atexit.register(shutil.rmtree, os.environ["CHROMAGEN_ONNX_CACHE"], ignore_errors=True)


def smooth_color_image(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A uint8 RGB image with smooth color gradients and a few shapes (JPEG-friendly)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(3 * xx + rng.uniform(0, 6)), np.cos(4 * yy + rng.uniform(0, 6)),
                     np.sin(2 * (xx + yy) + rng.uniform(0, 6))], axis=2)
    img = (base * 0.5 + 0.5) * 255
    img[height // 4: height // 2, width // 4: width // 2] = rng.integers(0, 255, 3)
    return img.astype(np.uint8)


@pytest.fixture
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("evaluation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """A folder of a dozen small color JPEGs (training-data stand-in)."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(smooth_color_image(40 + i, 56, seed=i)).save(folder / f"img{i:02d}.jpg", quality=90)
    return folder


@pytest.fixture(scope="session")
def random_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialized effnet-unet saved as a chromagen weights file (fast, no training)."""
    import torch

    from chromagen.models import create_model
    from chromagen.models.weights import save_generator

    torch.manual_seed(0)
    kwargs = {"encoder": "efficientnet-lite0", "decoder_channels": [32, 24, 16, 16]}
    model = create_model("effnet-unet", pretrained=False, **kwargs)
    return save_generator(model, "effnet-unet", kwargs, tmp_path_factory.mktemp("model") / "random.safetensors")


def shared_data_enabled() -> bool:
    """Opt-in tests that read ../shared/data (slow, not in CI)."""
    return os.environ.get("CHROMAGEN_SHARED_DATA") == "1" and (SHARED / "data").is_dir()


@pytest.fixture(scope="session")
def random_onnx_file(random_model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The random model exported to ONNX once per session (the export takes tens of seconds)."""
    from chromagen.export import export_weights

    return export_weights(random_model_file, tmp_path_factory.mktemp("onnx") / "random.onnx")
