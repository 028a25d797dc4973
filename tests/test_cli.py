"""The command line end to end, on generated images and scikit-image's sample photos."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata
from typer.testing import CliRunner

from chromagen import __version__
from chromagen.cli import app
from tests.conftest import smooth_color_image

runner = CliRunner()


def _run(*args: str) -> "object":
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """scikit-image's bundled photos (color and gray) plus a generated RGBA PNG, with a sub-folder."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(skdata.astronaut()).save(folder / "astronaut.jpg")
    Image.fromarray(skdata.camera()).save(folder / "sub" / "camera.png")
    Image.fromarray(skdata.coffee()).save(folder / "coffee.webp")
    rgba = np.dstack([smooth_color_image(37, 53), np.full((37, 53), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "sub" / "logo.png")
    (folder / "readme.txt").write_text("not an image, not picked up by the folder walk")
    return folder


def test_colorize_folder_keeps_sizes_structure_and_alpha(photos: Path, tmp_path: Path,
                                                         random_model_file: Path) -> None:
    out = tmp_path / "out"
    result = _run("colorize", str(photos), "-o", str(out), "--model", str(random_model_file), "--size", "64")
    assert result.exit_code == 0, result.output
    assert "4 colorized, 0 skipped, 0 failed" in result.output
    for rel in ("astronaut.jpg", "sub/camera.png", "coffee.webp", "sub/logo.png"):
        assert Image.open(out / rel).size == Image.open(photos / rel).size
    logo = np.asarray(Image.open(out / "sub" / "logo.png"))
    assert logo.shape[2] == 4 and (logo[..., 3] == 128).all()
    assert not (out / "readme.txt").exists()


def test_bad_files_fail_one_line_each_and_good_file_survives(tmp_path: Path, random_model_file: Path) -> None:
    good = tmp_path / "good.jpg"
    Image.fromarray(smooth_color_image(120, 160)).save(good)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("meeting notes\n")
    out = tmp_path / "out"
    args = [str(tmp_path / n) for n in ("good.jpg", "truncated.jpg", "empty.jpg", "notes.jpg")]
    result = _run("colorize", *args, "-o", str(out), "--model", str(random_model_file))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert all(name in " ".join(errors) for name in ("truncated.jpg", "empty.jpg", "notes.jpg"))
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["good.jpg"]  # no partial or temporary files
    assert Image.open(out / "good.jpg").size == (160, 120)


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path: Path, random_model_file: Path) -> None:
    src = tmp_path / "a.png"
    Image.fromarray(smooth_color_image()).save(src)
    out = tmp_path / "out"
    model = ["--model", str(random_model_file)]
    assert _run("colorize", str(src), "-o", str(out), *model).exit_code == 0
    result = _run("colorize", str(src), "-o", str(out), *model)
    assert result.exit_code == 0 and "1 skipped" in result.output
    result = _run("colorize", str(src), "-o", str(out), *model, "--overwrite")
    assert result.exit_code == 0 and "1 colorized" in result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _run("colorize", str(tmp_path), "--model", "no-such-model").exit_code == 2
    assert runner.invoke(app, ["colorize", "--no-such-option"]).exit_code == 2
    assert runner.invoke(app, ["colorize"]).exit_code == 2
    assert _run("colorize", str(tmp_path), "--chroma", "-1").exit_code == 2


def test_missing_input_is_a_failure_not_a_crash(tmp_path: Path, random_model_file: Path) -> None:
    result = _run("colorize", str(tmp_path / "nope.jpg"), "--model", str(random_model_file))
    assert result.exit_code == 1 and "no such file" in result.output


def test_version_and_models() -> None:
    assert __version__ in _run("--version").output
    result = _run("models")
    assert result.exit_code == 0 and "effnet-unet" in result.output
