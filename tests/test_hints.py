"""User color hints: parsing, the hint planes, the hint-aware model's extra channels, training, the CLI and
`evaluate --hints`, on generated images and tiny random models."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from chromagen.cli import app
from chromagen.color import encode_ab
from chromagen.data.hint_sampling import hint_map, random_counts, simulate_hints
from chromagen.hints import Hint, HintError, hint_planes, hint_rgb, load_hints, parse_hint, suggested_ab
from chromagen.models import create_model
from chromagen.models.weights import save_generator
from chromagen.training.config import HintsConfig
from tests.conftest import smooth_color_image

runner = CliRunner()
TINY = {"pretrained": False, "decoder_channels": [16, 16, 16, 16]}


def _tiny_hint_model(live: bool) -> torch.nn.Module:
    """A seeded random tiny hint-unet; ``live`` gives its hint layers random weights (they start at zero)."""
    torch.manual_seed(0)
    model = create_model("hint-unet", **TINY).eval()
    if live:
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name.startswith("hint_"):
                    param.normal_(0, 0.5)
    return model


@pytest.fixture(scope="module")
def hint_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hint-model") / "tiny-hints.safetensors"
    return save_generator(_tiny_hint_model(live=True), "hint-unet", TINY, path, half=False)


def test_pixel_and_percent_hints_parse() -> None:
    assert parse_hint("120,80,#aa2211") == Hint(120, 80, (170, 34, 17))
    assert parse_hint(" 40% , 25%,#AA2211") == Hint(40, 25, (170, 34, 17), percent=True)
    assert parse_hint("3.5,4,red").color == (255, 0, 0)
    assert parse_hint("40%,25%,#aa2211").position(200, 100) == (80, 25)


@pytest.mark.parametrize("text", ["1,2,#12345", "1,2,notacolor", "1,2,#11223344", "1,2", "a,2,red", "10%,2,red",
                                  "nan,2,red"])
def test_bad_hints_are_hint_errors(text: str) -> None:
    with pytest.raises(HintError):
        parse_hint(text)


@pytest.mark.parametrize("hint", [Hint(200, 5, (1, 2, 3)), Hint(-1, 5, (1, 2, 3)), Hint(5, 100, (1, 2, 3)),
                                  Hint(101, 50, (1, 2, 3), percent=True)])
def test_hints_outside_the_image_are_refused(hint: Hint) -> None:
    with pytest.raises(HintError, match="outside the 200x100 image"):
        hint_planes([hint], np.zeros((1, 2), np.float32), (100, 200), (50, 100))


def test_hints_file(tmp_path: Path) -> None:
    path = tmp_path / "hints.json"
    path.write_text(json.dumps([{"x": 10, "y": "20", "color": "#00ff00"},
                                {"x": "50%", "y": "50%", "color": "blue", "patch": 5}]))
    assert load_hints(path) == [Hint(10, 20, (0, 255, 0)), Hint(50, 50, (0, 0, 255), 5, percent=True)]
    path.write_text(json.dumps([{"x": 10, "y": 20, "colour": "#00ff00"}]))
    with pytest.raises(HintError, match="hint 0 must be an object"):
        load_hints(path)
    path.write_text(json.dumps([{"x": 10, "y": 20, "color": "#00ff00", "patch": 4}]))
    with pytest.raises(HintError, match="patch must be an odd"):
        load_hints(path)


def test_hint_planes_put_the_color_chroma_where_the_hint_points() -> None:
    red, blue = Hint(150, 25, (200, 30, 30), patch=3), Hint(0, 99, (40, 40, 220), patch=1)
    ab_norm = encode_ab(torch.from_numpy(hint_rgb([red, blue])))[:, :, 0, 0].numpy()
    planes = hint_planes([red, blue], ab_norm, (100, 200), (50, 100))
    assert planes.shape == (3, 50, 100) and planes.dtype == np.float32
    assert planes[2].sum() == 9 + 1
    assert (planes[2, 11:14, 74:77] == 1).all() and planes[2, 49, 0] == 1
    assert planes[0, 12, 75] > 0.3 and planes[1, 49, 0] < -0.3  # red: a > 0; blue: b < 0
    np.testing.assert_allclose(planes[:2, 12, 75], ab_norm[0], rtol=1e-6)


def test_simulated_hints_reveal_patch_means_of_the_truth() -> None:
    ab = torch.rand(1, 2, 16, 16)
    hints = hint_map(ab, [[(5, 6, 3)]])
    assert hints[0, 2].sum() == 9
    torch.testing.assert_close(hints[0, :2, 5, 6], ab[0, :, 4:7, 5:8].mean(dim=(1, 2)))
    counts = random_counts(4000, HintsConfig(p=0.125, zero_share=0.2), torch.Generator().manual_seed(0))
    assert abs(np.mean(counts) - 0.8 * 7) < 0.5 and abs(np.mean(np.equal(counts, 0)) - 0.3) < 0.03
    maps = simulate_hints(torch.rand(3, 2, 32, 32), HintsConfig(), torch.Generator().manual_seed(1))
    assert maps.shape == (3, 3, 32, 32) and set(maps[:, 2].unique().tolist()) <= {0.0, 1.0}


def test_fresh_hint_model_is_the_automatic_model_and_its_hint_path_is_live() -> None:
    torch.manual_seed(0)
    auto = create_model("effnet-unet", **TINY).eval()
    hinted = create_model("hint-unet", **TINY).eval()
    missing, unexpected = hinted.load_state_dict(auto.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("hint_") for k in missing)
    l_norm = torch.rand(2, 1, 40, 56) * 2 - 1
    hint = Hint(20, 20, (200, 30, 30), 5)
    ab_norm = encode_ab(torch.from_numpy(hint_rgb([hint])))[:, :, 0, 0].numpy()
    planes = torch.from_numpy(hint_planes([hint], ab_norm, (40, 56), (40, 56)))
    with torch.no_grad():
        torch.testing.assert_close(hinted(torch.cat([l_norm, torch.zeros(2, 3, 40, 56)], 1)), auto(l_norm))
        torch.testing.assert_close(hinted(torch.cat([l_norm, planes.expand(2, -1, -1, -1)], 1)), auto(l_norm))
        live = _tiny_hint_model(live=True)
        assert not torch.allclose(live(torch.cat([l_norm, planes.expand(2, -1, -1, -1)], 1)),
                                  live(torch.cat([l_norm, torch.zeros(2, 3, 40, 56)], 1)))


def test_hint_training_starts_from_the_automatic_model_and_learns_hints(tmp_path: Path, image_dir: Path) -> None:
    from chromagen.models.weights import load_generator

    torch.manual_seed(0)
    start = save_generator(create_model("effnet-unet", **TINY), "effnet-unet", TINY, tmp_path / "auto.safetensors",
                           half=False)
    recipe = {
        "model": {"name": "hint-unet", "kwargs": TINY}, "init_from": str(start), "hints": {"val_points": 3},
        "data": {"train": [str(image_dir)], "val": [str(image_dir)], "crop_size": 32, "batch_size": 4,
                 "num_workers": 0, "val_limit": 4},
        "optim": {"warmup_steps": 1},
        "trainer": {"max_steps": 3, "val_every_steps": 3, "log_every_steps": 1},
    }
    config = tmp_path / "hints.yaml"
    config.write_text(yaml.safe_dump(recipe))
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    trained, meta = load_generator(tmp_path / "run" / "model.safetensors")
    assert meta["model"] == "hint-unet"
    assert trained.hint_stem.weight.abs().sum() > 0  # the zero-initialized hint layers learned
    automatic = {**recipe, "model": {"name": "effnet-unet", "kwargs": TINY}}
    config.write_text(yaml.safe_dump(automatic))
    result = runner.invoke(app, ["train", "--config", str(config), "--output", str(tmp_path / "run2")])
    assert result.exit_code == 2 and "takes no hints" in result.output


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(smooth_color_image(48, 64)).save(path)
    return path


def _colorize(photo: Path, out: Path, *args: str) -> "object":
    return runner.invoke(app, ["colorize", str(photo), "-o", str(out), "--size", "32", "--overwrite", *args])


def test_cli_hints_change_the_result(photo: Path, tmp_path: Path, hint_model_file: Path) -> None:
    model = ["--model", str(hint_model_file)]
    assert _colorize(photo, tmp_path / "plain", *model).exit_code == 0
    result = _colorize(photo, tmp_path / "hinted", *model, "--hint", "10,10,#ff0000", "--hint", "50%,50%,#0000ff")
    assert result.exit_code == 0, result.output
    file = tmp_path / "hints.json"
    file.write_text(json.dumps([{"x": 10, "y": 10, "color": "#ff0000"}, {"x": "50%", "y": "50%", "color": "blue"}]))
    assert _colorize(photo, tmp_path / "from-file", *model, "--hints", str(file)).exit_code == 0
    plain, hinted, from_file = (np.asarray(Image.open(tmp_path / d / "photo.png")).astype(int)
                                for d in ("plain", "hinted", "from-file"))
    assert np.abs(plain - hinted).max() > 0
    np.testing.assert_array_equal(hinted, from_file)


def test_cli_says_that_an_animation_is_colorized_without_the_hints(photo: Path, tmp_path: Path,
                                                                   hint_model_file: Path) -> None:
    frames = [Image.fromarray(smooth_color_image(48, 64, seed=i)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=80)
    result = runner.invoke(app, ["colorize", str(tmp_path / "anim.gif"), str(photo), "-o", str(tmp_path / "out"),
                                 "--size", "32", "--model", str(hint_model_file), "--hint", "10,10,red"])
    assert result.exit_code == 0 and "2 colorized" in result.output, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {tmp_path / 'anim.gif'}: color hints are for still photos; colorized without them"]


@pytest.mark.parametrize(("hint", "message"), [("100,10,#ff0000", "outside the 64x48 image"),
                                               ("10,10,#ff00", "bad hint color")])
def test_cli_bad_hints_are_usage_errors(photo: Path, tmp_path: Path, hint_model_file: Path, hint: str,
                                        message: str) -> None:
    result = _colorize(photo, tmp_path / "out", "--model", str(hint_model_file), "--hint", hint)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "photo.png").exists()


def test_cli_hints_need_a_hint_aware_model(photo: Path, tmp_path: Path, random_model_file: Path) -> None:
    result = _colorize(photo, tmp_path / "out", "--model", str(random_model_file), "--hint", "1,1,red")
    assert result.exit_code == 2 and "takes no color hints" in result.output


def test_fast_evaluate_gives_one_row_per_hint_count(tmp_path: Path, hint_model_file: Path,
                                               random_model_file: Path) -> None:
    folder = tmp_path / "bench"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(smooth_color_image(50, 60, seed=i)).save(folder / f"{i}.png")
    out = tmp_path / "result.json"
    result = runner.invoke(app, ["evaluate", "--model", str(random_model_file), "--model", str(hint_model_file),
                                 "--data", str(folder), "--size", "32", "--working-size", "32", "--hints", "0",
                                 "--hints", "5", "--fast", "--json", str(out)])
    assert result.exit_code == 0, result.output
    models = json.loads(out.read_text())["models"]
    assert list(models) == [str(random_model_file), f"{hint_model_file} +0 hints", f"{hint_model_file} +5 hints"]
    assert models[f"{hint_model_file} +0 hints"]["hint_ab_error"] is None
    assert models[f"{hint_model_file} +5 hints"]["hint_ab_error"] > 0
    assert models[f"{hint_model_file} +0 hints"]["psnr"] != models[f"{hint_model_file} +5 hints"]["psnr"]
    assert models[f"{hint_model_file} +5 hints"]["ssim"] is None  # --fast: PSNR-type metrics only


def test_bundled_hint_model_colors_the_region_under_a_hint() -> None:
    """The shipped model: a blue hint on the astronaut's white suit turns the suit there blue, not the far side."""
    from skimage import data as skdata

    from chromagen.color import rgb_to_lab
    from chromagen.inference import Colorizer

    colorizer = Colorizer.from_pretrained("hints", device="cpu")
    photo = np.asarray(Image.fromarray(skdata.astronaut()).convert("L").convert("RGB"), np.float32) / 255
    plain = colorizer.colorize(photo)
    hinted = colorizer.colorize(photo, hints=[Hint(150, 400, (40, 80, 210))])  # on the suit, lower left
    lab = [rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0] for rgb in (plain, hinted)]
    change = (lab[1] - lab[0])[1:].norm(dim=0)
    b_shift = (lab[1] - lab[0])[2, 390:411, 140:161].mean()
    assert b_shift < -5  # bluer (b down) where the hint is
    assert change[380:421, 130:171].mean() > 4 * change[:, 350:].mean()  # and much less on the far side


def test_suggested_chromas_start_with_the_prediction_then_its_hue_and_nearby_hues_stronger() -> None:
    ab = np.zeros((2, 40, 40), np.float32)
    ab[0, :, :20] = 6.0  # a weak red left half (a > 0)
    ab[1, :, 20:] = -6.0  # a weak blue right half (b < 0)
    offered = suggested_ab(ab, 10, 18, count=6)
    np.testing.assert_allclose(offered[0], [6, 0])  # the prediction at the point comes first
    np.testing.assert_allclose(offered[1:3], [[20, 0], [40, 0]], atol=1e-5)  # its hue at stronger chroma
    np.testing.assert_allclose(offered[3:5], [[0, -20], [0, -40]], atol=1e-5)  # the other hue nearby
    assert len(suggested_ab(ab, 10, 2, count=6)) == 3  # the blue half is farther than the search radius
    assert len(suggested_ab(np.zeros((2, 40, 40), np.float32), 5, 5)) == 1  # all gray: just the prediction


def test_suggested_colors_keep_the_photos_lightness_at_the_point() -> None:
    from chromagen.color import rgb_to_lab
    from chromagen.inference import Colorizer

    colorizer = Colorizer.from_pretrained("default", device="cpu")
    photo = np.full((30, 50), 90, np.uint8)
    photo[:, 25:] = 200
    ab = np.zeros((2, 30, 50), np.float32)
    ab[0] = 10.0
    colors = colorizer.suggest_colors(photo, ab, 40, 15)
    assert len(colors) == 3 and len(set(colors)) == 3
    lab = rgb_to_lab(torch.tensor(colors, dtype=torch.float32).T[None, :, None] / 255)[0, :, 0]
    gray = rgb_to_lab(torch.full((1, 3, 1, 1), 200 / 255))[0, 0, 0, 0]
    assert (lab[0] - gray).abs().max() < 2  # the bright half's lightness
    assert lab[1, 0] == pytest.approx(10, abs=1.5) and (lab[2].abs() < 3).all()  # the predicted red hue
    with pytest.raises(HintError, match=r"point \(50, 15\) is outside the 50x30 image"):
        colorizer.suggest_colors(photo, ab, 50, 15)
