"""The evaluation protocol and `chromagen evaluate`: independent checks, schema, report files."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from skimage.color import lab2rgb, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from typer.testing import CliRunner

from chromagen.cli import app
from chromagen.evaluation.runner import Protocol, evaluate, protocol_image
from tests.conftest import smooth_color_image

runner = CliRunner()


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    """Five color photos of odd sizes plus one gray photo that must be skipped."""
    folder = tmp_path / "bench"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(smooth_color_image(70 + 9 * i, 90, seed=10 + i)).save(folder / f"c{i}.png")
    Image.fromarray(np.full((60, 60), 90, np.uint8)).save(folder / "gray.png")
    return folder


def _skimage_gray_baseline(path: Path, size: int) -> tuple[float, float]:
    """PSNR and SSIM of the ab = 0 answer computed with scikit-image alone."""
    truth = (protocol_image(path, size).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    lab = rgb2lab(truth)
    lab[..., 1:] = 0
    gray = (np.clip(lab2rgb(lab), 0, 1) * 255).round().astype(np.uint8)
    return (peak_signal_noise_ratio(truth, gray, data_range=255),
            structural_similarity(truth, gray, channel_axis=2, data_range=255))


def test_grid_samples_stop_at_the_requested_count(bench: Path) -> None:
    _, samples = evaluate(["gray"], bench, Protocol(size=32, batch_size=2), samples=3)
    assert {name: len(images) for name, images in samples.items()} == {"input": 3, "gray": 3, "truth": 3}


def test_gray_baseline_agrees_with_scikit_image(bench: Path) -> None:
    result, _ = evaluate(["gray"], bench, Protocol(size=64))
    rows = [r for r in result["images"] if r["model"] == "gray"]
    assert len(rows) == 5
    for row in rows:
        ref_psnr, ref_ssim = _skimage_gray_baseline(Path(row["file"]), 64)
        assert abs(row["psnr"] - ref_psnr) < 0.01
        assert abs(row["ssim"] - ref_ssim) < 0.001
    summary = result["models"]["gray"]
    assert summary["n"] == 5 and summary["skipped"] == 1
    assert summary["colorfulness"] < 1.0 < summary["colorfulness_gt"]
    assert 0 < summary["auc"] < 1 and 0 < summary["auc_rebalanced"] < 1


def test_cli_writes_schema_grid_curves_and_report(bench: Path, tmp_path: Path, random_model_file: Path) -> None:
    out = tmp_path / "eval"
    result = runner.invoke(app, ["evaluate", "--model", "gray", "--model", str(random_model_file),
                                 "--data", str(bench), "--size", "64", "--json", str(out / "r.json"),
                                 "--report", str(out / "report.md")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "r.json").read_text())
    assert set(data) >= {"protocol", "models", "images"}
    keys = {"n", "skipped", "psnr", "ssim", "lpips", "fid", "colorfulness", "colorfulness_gt", "mse_ab", "auc",
            "auc_rebalanced"}
    for row in data["models"].values():
        assert keys <= set(row)
        assert row["fid"] is None  # fewer than 50 images
    assert data["models"]["gray"]["chroma"] is None and data["models"][str(random_model_file)]["chroma"] == 1.0
    report = (out / "report.md").read_text()
    assert f"Saturation gain: {random_model_file} x1." in report
    for image in ("report-grid.png", "report-curves.png"):
        assert f"]({image})" in report
        assert Image.open(out / image).size[0] > 200
    # 4 labeled columns (input, 2 models, truth) of 160 px tiles, 5 rows (the gray photo was skipped).
    assert Image.open(out / "report-grid.png").size == (4 * 164 + 4, 24 + 5 * 164 + 4)


def test_unknown_data_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--model", "gray", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2 and "not a folder" in result.output


@pytest.mark.parametrize("option", ["--json", "--grid", "--curves", "--report"])
def test_an_unwritable_result_file_is_refused_before_scoring(bench: Path, tmp_path: Path, random_model_file: Path,
                                                             monkeypatch: pytest.MonkeyPatch, option: str) -> None:
    import chromagen.evaluation.runner as runner_module

    monkeypatch.setattr(runner_module, "evaluate", lambda *a, **k: pytest.fail("scored before checking the output"))
    (tmp_path / "a-file").write_text("not a folder")
    result = CliRunner().invoke(app, ["evaluate", "--model", str(random_model_file), "--data", str(bench),
                                      option, str(tmp_path / "a-file" / "result.out")])
    assert result.exit_code == 2 and "a-file: the output location is a file" in result.output


def test_compare_trains_recipes_and_reports_together(tmp_path: Path, image_dir: Path, bench: Path) -> None:
    from tests.test_training import _tiny_recipe

    first = _tiny_recipe(tmp_path, image_dir)
    second = first.with_name("mse.yaml")
    second.write_text(yaml.safe_dump({**yaml.safe_load(first.read_text()), "loss": "mse"}))
    out = tmp_path / "compare"
    result = runner.invoke(app, ["compare", "--recipes", f"{first},{second}", "--data", str(image_dir),
                                 "--eval-data", str(bench), "--steps", "2", "--size", "48", "--output", str(out)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    assert list(data["models"]) == ["gray", "tiny", "mse"]
    report = (out / "report.md").read_text()
    for image in ("report-grid.png", "report-curves.png", "report-loss.png"):
        assert f"]({image})" in report and (out / image).is_file()


def test_compare_rejects_unknown_recipes(tmp_path: Path, bench: Path) -> None:
    result = runner.invoke(app, ["compare", "--recipes", "no-such-recipe", "--data", str(tmp_path),
                                 "--eval-data", str(bench)])
    assert result.exit_code == 2 and "unknown recipe" in result.output


def test_chroma_option_reaches_the_model_and_the_result(bench: Path, tmp_path: Path, random_model_file: Path) -> None:
    runs = {}
    for gain in ("1", "2"):
        result = runner.invoke(app, ["evaluate", "--model", str(random_model_file), "--data", str(bench),
                                     "--size", "48", "--chroma", gain, "--json", str(tmp_path / f"{gain}.json")],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        runs[gain] = json.loads((tmp_path / f"{gain}.json").read_text())["models"][str(random_model_file)]
    assert runs["1"]["chroma"] == 1.0 and runs["2"]["chroma"] == 2.0
    assert runs["2"]["colorfulness"] > runs["1"]["colorfulness"]


def test_chroma_sweep_matches_evaluate(bench: Path, random_model_file: Path) -> None:
    """benchmarks/chroma_sweep.py reuses one prediction per gain; each gain must score as `evaluate` would."""
    import importlib.util

    from chromagen.evaluation.runner import Protocol, evaluate

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "chroma_sweep.py"
    spec = importlib.util.spec_from_file_location("chroma_sweep", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    swept = module.sweep(str(random_model_file), bench, [1.0, 2.0], size=48, working_size=32, limit=None)
    assert swept["n"] == 5
    for gain, key in ((0.0, "gray"), (1.0, "model"), (2.0, "model")):
        specs = {"gray": "gray", "model": str(random_model_file)}
        result, _ = evaluate({key: specs[key]}, bench, Protocol(size=48, working_size=32, chroma=gain or None))
        for metric in ("psnr", "lpips", "colorfulness"):
            assert swept["gains"][str(gain)][metric] == pytest.approx(result["models"][key][metric], rel=1e-4)
