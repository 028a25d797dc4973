"""The runtime: ONNX export of every architecture, backend choice, the torch-free install, the CLI options."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from chromagen import color
from chromagen.backends import open_backend, pick_backend
from chromagen.catalog import WEIGHTS_DIR as BUNDLED_DIR
from chromagen.backends import onnx_backend
from chromagen.backends.onnx_backend import OnnxBackend, color_session, optimized_path
from chromagen.cli import app
from chromagen.errors import ChromagenError
from chromagen.export import export_generator, metadata, min_side
from chromagen.inference import Colorizer
from chromagen.models import create_model, list_models, predict_ab
from tests.conftest import REPO, smooth_color_image


@pytest.mark.slow
@pytest.mark.parametrize("name", [e.name for e in list_models("generator")])
def test_every_generator_exports_to_onnx_with_dynamic_size(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model(name, pretrained=False).eval()
    path = export_generator(model, tmp_path / f"{name}.onnx", {"model": name})
    backend = open_backend(str(path), "onnx", "cpu", threads=1)
    side, channels = min_side(model), int(getattr(model, "in_channels", 1))
    for height, width in ((side + 9, side + 40), (side + 33, side + 1)):  # sizes the export never saw
        l_norm = torch.rand(1, channels, height, width) * 2 - 1
        with torch.no_grad():
            expected = predict_ab(model, l_norm).numpy()
        got = backend.predict_ab(l_norm.numpy())
        assert got.shape == expected.shape == (1, 2, height, width)
        assert np.abs(got - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert metadata(path)["model"] == name


def test_color_graphs_are_the_color_module() -> None:
    """The shipped graphs compute what chromagen.color computes (regenerate: export_color_graphs())."""
    rgb = torch.rand(2, 3, 9, 11)
    l_norm, ab = torch.rand(2, 1, 9, 11) * 2 - 1, torch.randn(2, 2, 9, 11) * 40
    names = ("encode_lightness", "encode_ab", "ab_from_model", "decode_lab", "decode_lab_steps", "srgb_from_linear")
    run = {name: color_session(name) for name in names}
    cases = [
        (run["encode_lightness"].run(None, {"rgb": rgb.numpy()})[0], color.encode_lightness(rgb)),
        (run["encode_ab"].run(None, {"rgb": rgb.numpy()})[0], color.encode_ab(rgb)),
        (run["ab_from_model"].run(None, {"ab_norm": ab.numpy() / 110, "chroma": np.array(1.3, np.float32)})[0],
         color.ab_from_model(ab / 110, torch.tensor(1.3))),
        (run["decode_lab"].run(None, {"l_norm": l_norm.numpy(), "ab": ab.numpy()})[0], color.decode_lab(l_norm, ab)),
        (run["srgb_from_linear"].run(None, {"linear": rgb.numpy() * 1.2 - 0.1})[0],
         color.srgb_from_linear(rgb * 1.2 - 0.1)),
    ]
    for got, expected in cases:
        assert np.allclose(got, expected.numpy(), atol=2e-5)
    steps = np.array(65535.0, np.float32)
    got = run["decode_lab_steps"].run(None, {"l_norm": l_norm.numpy(), "ab": ab.numpy(), "steps": steps})[0]
    expected = color.decode_lab_steps(l_norm, ab, torch.from_numpy(steps)).numpy()
    assert got.dtype == expected.dtype == np.int32
    assert np.abs(got - expected).max() <= 1  # float rounding may tip a value at a step's edge


def test_bundled_default_ships_as_onnx_matching_its_weights() -> None:
    photo = np.asarray(Image.open(REPO / "examples" / "1910-bike.jpg").convert("L"))
    onnx_out, torch_out = (Colorizer.from_pretrained("default", backend=b, device="cpu").colorize(photo)
                           for b in ("onnx", "torch"))
    mse = np.mean((onnx_out.astype(np.float64) - torch_out) ** 2)
    assert 10 * np.log10(255**2 / max(mse, 1e-12)) >= 45
    assert metadata(BUNDLED_DIR / "default.onnx")["chroma"] == open_backend("default", "torch").meta["chroma"]


def test_wheel_payload_stays_under_40_mb() -> None:
    """Three networks ship: default in both formats, faithful and hints as ONNX only (~9 MB each)."""
    import tomllib

    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    package = BUNDLED_DIR.parent
    shipped = {p for pattern in setuptools["package-data"]["chromagen"] for p in package.glob(pattern) if p.is_file()}
    shipped -= {p for pattern in setuptools["exclude-package-data"]["chromagen"] for p in package.glob(pattern)}
    assert BUNDLED_DIR / "default.onnx" in shipped and BUNDLED_DIR / "default.safetensors" in shipped
    for onnx_only in ("faithful", "hints"):
        assert BUNDLED_DIR / f"{onnx_only}.onnx" in shipped and BUNDLED_DIR / f"{onnx_only}.safetensors" not in shipped
    assert sum(p.stat().st_size for p in shipped) < 39 * 10**6  # the wheel adds the code (~0.3 MB zipped)


def test_bundled_models_without_torch_weights_run_on_onnx_even_on_cuda(tmp_path: Path, monkeypatch) -> None:
    import json

    import chromagen.catalog as catalog

    (tmp_path / "onnx-only.onnx").write_bytes(b"")
    (tmp_path / "both.onnx").write_bytes(b"")
    (tmp_path / "both.safetensors").write_bytes(b"")
    entries = {"onnx-only": "onnx-only.safetensors", "both": "both.safetensors", "alias": "both.safetensors"}
    (tmp_path / "catalog.json").write_text(json.dumps({k: {"architecture": "effnet-unet", "file": v}
                                                       for k, v in entries.items()}))
    monkeypatch.setattr(catalog, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(catalog, "CATALOG", tmp_path / "catalog.json")
    assert pick_backend("onnx-only", "auto", "cuda") == "onnx"
    assert pick_backend("both", "auto", "cuda") == "torch"
    assert pick_backend("alias", "auto", "cuda") == "torch"  # entries sharing a file share its formats


@pytest.mark.parametrize(("model", "backend", "device", "expected"), [
    ("default", "auto", "cpu", "onnx"),
    ("default", "auto", "cuda", "torch"),
    ("x.onnx", "auto", "cuda", "onnx"),
    ("x.safetensors", "auto", "cpu", "torch"),
    ("x.ckpt", "onnx", "cpu", "onnx"),
])
def test_auto_backend_is_onnx_on_cpu_torch_on_cuda(model: str, backend: str, device: str, expected: str) -> None:
    assert pick_backend(model, backend, device) == expected


def test_backend_mismatches_are_one_line_errors(random_model_file: Path, random_onnx_file: Path) -> None:
    with pytest.raises(ChromagenError, match="chromagen export"):
        open_backend(str(random_model_file), "onnx")
    with pytest.raises(ChromagenError, match="--backend onnx"):
        open_backend(str(random_onnx_file), "torch")
    with pytest.raises(ChromagenError, match="unknown backend"):
        open_backend("default", "tensorrt")
    with pytest.raises(ChromagenError, match="--threads"):
        open_backend("default", "onnx", threads=0)


def test_cli_export_then_colorize_on_both_backends(tmp_path: Path, random_model_file: Path) -> None:
    runner = CliRunner()
    exported = tmp_path / "model.onnx"
    result = runner.invoke(app, ["export", "--model", str(random_model_file), "-o", str(exported)])
    assert result.exit_code == 0, result.output
    Image.fromarray(smooth_color_image(90, 120)).convert("L").save(tmp_path / "photo.png")
    outputs = {}
    for backend, model in (("onnx", exported), ("torch", random_model_file)):
        out = tmp_path / backend
        result = runner.invoke(app, ["colorize", str(tmp_path / "photo.png"), "-o", str(out), "--model", str(model),
                                     "--backend", backend, "--threads", "1", "--size", "64"])
        assert result.exit_code == 0, result.output
        outputs[backend] = np.asarray(Image.open(out / "photo.png"), dtype=np.float64)
    assert np.abs(outputs["onnx"] - outputs["torch"]).max() <= 1
    result = runner.invoke(app, ["export", "--model", str(random_model_file), "--format", "tflite", "-o", "x"])
    assert result.exit_code == 2 and "unknown format" in result.output


@pytest.mark.parametrize("target, message", [("model.txt", "ending in .onnx"), ("a-file/model.onnx", "is a file"),
                                             ("folder.onnx", "ending in .onnx")])
def test_cli_export_refuses_an_unusable_output_before_exporting(tmp_path: Path, random_model_file: Path,
                                                                 target: str, message: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "folder.onnx").mkdir()
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(app, ["export", "--model", str(random_model_file), "-o", str(tmp_path / target)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert sorted(tmp_path.rglob("*")) == before


def _without_torch(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child where ``import torch`` fails, as on the base install."""
    blocker = cwd / "blocker"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(
        "import sys\nclass Block:\n    def find_spec(self, name, *args):\n"
        "        if name.split('.')[0] in ('torch', 'torchvision', 'kornia', 'lightning'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO / "src")])}
    return subprocess.run([sys.executable, "-m", "chromagen", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_colorize_runs_without_torch_and_training_names_its_extra(tmp_path: Path) -> None:
    Image.fromarray(smooth_color_image(60, 80)).convert("L").save(tmp_path / "photo.jpg")
    done = _without_torch(["colorize", "photo.jpg", "-o", "out"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "out" / "photo.jpg").size == (80, 60)
    for command in (["train", "--config", "default"], ["export", "-o", "x.onnx"],
                    ["colorize", "photo.jpg", "--backend", "torch"]):
        done = _without_torch(command, tmp_path)
        assert done.returncode == 2
        assert "pip install 'chromagen[train]'" in done.stderr and "Traceback" not in done.stderr


def _predict(backend: OnnxBackend) -> np.ndarray:
    return backend.predict_ab(np.linspace(-1, 1, 64 * 48, dtype=np.float32).reshape(1, 1, 48, 64))


def test_onnx_sessions_reuse_this_machines_optimized_graph(random_onnx_file: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMAGEN_ONNX_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "model.onnx"
    model.write_bytes(random_onnx_file.read_bytes())
    first = OnnxBackend(model)
    cached = optimized_path(model)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cached.name]  # made once, no .part left
    loaded: list[str] = []
    real = onnx_backend.ort.InferenceSession
    monkeypatch.setattr(onnx_backend.ort, "InferenceSession", lambda source, *a, **k: loaded.append(source) or
                        real(source, *a, **k))
    second = OnnxBackend(model)
    assert loaded == [str(cached)] and second.meta == first.meta
    np.testing.assert_allclose(_predict(second), _predict(first), atol=1e-5)
    cached.write_bytes(b"not a model")  # a damaged copy is made again
    np.testing.assert_allclose(_predict(OnnxBackend(model)), _predict(first), atol=1e-5)
    assert cached.stat().st_size > 100
    os.utime(model, ns=(1, 1))  # a changed model file never meets its old copy
    assert optimized_path(model) != cached


def test_the_onnx_cache_keeps_only_the_most_recently_used_copies(random_onnx_file: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMAGEN_ONNX_CACHE", str(tmp_path / "cache"))
    clones = [tmp_path / f"clone{i}" / "model.onnx" for i in range(onnx_backend.KEEP_COPIES + 1)]
    for clone in clones:
        clone.parent.mkdir()
        clone.write_bytes(random_onnx_file.read_bytes())
    other = tmp_path / "other.onnx"
    other.write_bytes(random_onnx_file.read_bytes())
    OnnxBackend(other)
    for age, clone in enumerate(clones[:-1]):
        OnnxBackend(clone)
        os.utime(optimized_path(clone), ns=(age * 10**9, age * 10**9))  # made in order, long ago
    OnnxBackend(clones[0])  # the oldest copy used again: now the most recent
    OnnxBackend(clones[-1])  # one copy too many: the least recently used (clone1's) goes
    kept = {p.name for p in (tmp_path / "cache").iterdir()}
    assert kept == {optimized_path(c).name for c in [other, clones[0], *clones[2:]]}


def test_onnx_sessions_work_where_the_cache_cannot_be_written(random_onnx_file: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CHROMAGEN_ONNX_CACHE", str(blocker / "onnx"))
    backend = OnnxBackend(random_onnx_file)
    assert _predict(backend).shape == (1, 2, 48, 64) and blocker.read_text() == ""


def test_the_commands_usage_errors_are_one_line(tmp_path: Path) -> None:
    """Bad values, unknown options and missing arguments: typer drew a 6-line box; now one ``error:`` line."""
    script = "import sys\nsys.argv = ['chromagen', *sys.argv[1:]]\nfrom chromagen.cli import main\nmain()\n"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for args, message in ((["colorize", "x.jpg", "--threads", "0"], "Invalid value for '--threads'"),
                          (["colorize", "x.jpg", "--no-such"], "No such option: --no-such"),
                          (["colorize"], "Missing argument 'INPUT...'")):
        done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith(f"error: {message}")
        assert "(see 'chromagen colorize --help')" in done.stderr


def test_colorizing_one_photo_never_imports_rich(tmp_path: Path) -> None:
    """Importing rich cost the one-photo command 0.06-0.11 s (docs/runtime.md); it prints one plain line."""
    Image.fromarray(smooth_color_image()[..., 0]).save(tmp_path / "photo.png")
    script = ("import atexit, sys\natexit.register(lambda: print('rich loaded:', 'rich' in sys.modules))\n"
              "sys.argv = ['chromagen', *sys.argv[1:]]\nfrom chromagen.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", script, "colorize", str(tmp_path / "photo.png"), "-o",
                           str(tmp_path / "out")], env={**os.environ, "PYTHONPATH": str(REPO / "src")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"1 colorized, 0 skipped, 0 failed -> {tmp_path / 'out'}", "rich loaded: False"]


def test_the_command_flushes_and_runs_exit_handlers_before_its_quick_exit(tmp_path: Path) -> None:
    script = ("import atexit, sys\natexit.register(lambda: print('handlers ran', file=sys.stderr))\n"
              "sys.argv = ['chromagen', *sys.argv[1:]]\nfrom chromagen.cli import main\nmain()\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    listed = subprocess.run([sys.executable, "-c", script, "models"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0 and "default" in listed.stdout and "handlers ran" in listed.stderr
    bad = subprocess.run([sys.executable, "-c", script, "colorize", str(tmp_path / "missing.jpg")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "error:" in bad.stderr and "handlers ran" in bad.stderr
