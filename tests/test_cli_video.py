"""``chromagen colorize`` and ``chromagen evaluate`` on videos and animations, end to end."""

from pathlib import Path

import av
import pytest
from PIL import Image
from typer.testing import CliRunner

from chromagen.cli import app
from tests.clips import ClipSpec, Shot, render_frames, write_clip

runner = CliRunner()
SPEC = ClipSpec(width=96, height=64, shots=(Shot("astronaut", 5, (0.0, 0.5, 0.4), (1.0, 0.5, 0.4)),
                                            Shot("chelsea", 4, (1.0, 0.3, 0.3), (0.0, 0.6, 0.3))))


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A folder with a film (webm name, H.264 inside is fine for reading), an animated GIF and a photo."""
    folder = tmp_path / "in"
    (folder / "clips").mkdir(parents=True)
    write_clip(folder / "film.mp4", SPEC)
    frames = [Image.fromarray(f) for f in render_frames(SPEC)]
    frames[0].save(folder / "clips" / "loop.gif", save_all=True, append_images=frames[1:], duration=70, loop=0)
    frames[0].save(folder / "clips" / "still.jpg")
    return folder


def colorize(*args: str, model: Path) -> "object":
    return runner.invoke(app, ["colorize", *args, "--model", str(model), "--size", "32"], catch_exceptions=False)


def test_folder_with_film_animation_and_photo(media: Path, tmp_path: Path, random_model_file: Path) -> None:
    out = tmp_path / "out"
    result = colorize(str(media / "film.mp4"), str(media / "clips"), "-o", str(out), "--format", "webp",
                      model=random_model_file)
    assert result.exit_code == 0, result.output
    assert "3 colorized, 0 skipped, 0 failed" in result.output
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["film.mp4", "loop.webp", "still.jpg"]
    with av.open(str(out / "film.mp4")) as c:
        assert c.streams.video[0].frames == 9 and len(c.streams.audio) == 1
    with Image.open(out / "loop.webp") as im:
        assert im.n_frames == 9
    again = colorize(str(media / "film.mp4"), "-o", str(out), model=random_model_file)
    assert "0 colorized, 1 skipped" in again.output


def test_broken_video_is_one_error_line(media: Path, tmp_path: Path, random_model_file: Path) -> None:
    broken = media / "broken.mov"
    broken.write_bytes((media / "film.mp4").read_bytes()[:3000])
    out = tmp_path / "out"
    result = colorize(str(broken), "-o", str(out), model=random_model_file)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.mov" in errors[0] and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_an_unknown_encoder_is_said_once_before_any_film(media: Path, tmp_path: Path, random_model_file: Path) -> None:
    (media / "second.mkv").write_bytes((media / "film.mp4").read_bytes())
    result = colorize(str(media), "-o", str(tmp_path / "out"), "--codec", "nope", model=random_model_file)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and errors == [errors[0]] and "--codec 'nope' is not a video encoder" in errors[0]
    assert not (tmp_path / "out" / "clips").exists()


def test_evaluate_video_reports_flicker(media: Path, tmp_path: Path, random_model_file: Path) -> None:
    import json

    report = tmp_path / "video.json"
    result = runner.invoke(app, ["evaluate", "--model", str(random_model_file), "--data", str(media / "film.mp4"),
                                 "--working-size", "32", "--json", str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "flicker" in result.output
    scores = json.loads(report.read_text())
    assert scores["video"]["frames"] == 9 and scores["video"]["shots"] == 2
    for row in scores["models"].values():
        assert row["flicker"] > 0 and row["flicker_gt"] > 0 and 5 < row["psnr"] < 60


def test_sigterm_keeps_finished_segments_and_rerun_resumes(tmp_path: Path, random_model_file: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from chromagen.sequence import SEGMENT_FRAMES

    frames = SEGMENT_FRAMES + 60
    src = write_clip(tmp_path / "long.mp4", ClipSpec(width=96, height=64, shots=(
        Shot("astronaut", frames, (0.0, 0.5, 0.4), (1.0, 0.5, 0.4)),)))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "chromagen", "colorize", str(src), "-o", str(out), "--model", str(random_model_file),
           "--size", "32"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}  # tiny frames
    job = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = out / ".long.mp4.parts" / "seg-00000.npz"
    deadline = time.monotonic() + 120
    while not first.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)
    job.communicate(timeout=60)
    assert job.returncode != 0 and first.exists()
    assert sorted(p.name for p in out.iterdir()) == [".long.mp4.parts"]  # no output, no temporary file
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["long.mp4"]
    with av.open(str(out / "long.mp4")) as c:
        assert c.streams.video[0].frames == frames
