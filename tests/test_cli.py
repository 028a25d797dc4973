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


def _numbered_photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:02d}.png" for i in range(count)]
    for i, path in enumerate(paths):
        Image.fromarray(smooth_color_image(48, 64, seed=i)).save(path)
    return paths


def test_folder_photos_are_read_ahead_and_written_behind_with_the_same_result(
        tmp_path: Path, random_model_file: Path, monkeypatch) -> None:
    """Decode of the next photo and write of the last one run on their own threads; the outputs are those of
    colorizing each photo alone, and a photo too large to overlap is decoded in turn."""
    import threading

    import chromagen.cli.colorize as command
    import chromagen.media.image as media
    from chromagen.inference import Colorizer

    paths = _numbered_photos(tmp_path / "in", 4)
    monkeypatch.setattr(command, "OVERLAP_PIXELS", 48 * 64)
    Image.fromarray(smooth_color_image(64, 64, seed=9)).save(paths[2])  # larger than OVERLAP_PIXELS
    threads: dict[str, str] = {}
    for name in ("load_image", "save_image"):
        real = getattr(media, name)

        def spy(path, *args, _real=real, _name=name, **kwargs):
            where = path if _name == "load_image" else args[0]
            threads[f"{_name}:{Path(where).name}"] = threading.current_thread().name
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(media, name, spy)
    out = tmp_path / "out"
    result = _run("colorize", str(tmp_path / "in"), "-o", str(out), "--model", str(random_model_file), "--size", "32")
    assert result.exit_code == 0 and "4 colorized, 0 skipped, 0 failed" in result.output, result.output
    assert threads["load_image:00.png"] == "MainThread"  # the first has nothing to hide behind
    assert threads["load_image:01.png"].startswith("chromagen-read")
    assert threads["load_image:02.png"] == "MainThread"  # too large: decoded in its turn
    assert threads["save_image:00.png"].startswith("chromagen-write")
    assert threads["save_image:02.png"] == "MainThread"
    alone = Colorizer.from_pretrained(str(random_model_file), size=32)
    for path in paths:
        expected = alone.colorize(media.load_image(path))
        assert np.array_equal(np.asarray(Image.open(out / path.name).convert("RGB")), expected)


def test_a_failed_write_behind_is_its_own_photo_s_line_in_order(tmp_path: Path, random_model_file: Path,
                                                                 monkeypatch) -> None:
    import chromagen.media.image as media
    from chromagen.errors import ChromagenError

    _numbered_photos(tmp_path / "in", 3)
    real = media.save_image

    def full_disk(pixels, path, *args, **kwargs):
        if Path(path).name == "01.png":
            raise ChromagenError(f"{path}: no space left on device")
        return real(pixels, path, *args, **kwargs)

    monkeypatch.setattr(media, "save_image", full_disk)
    (tmp_path / "in" / "02.png").write_bytes(b"broken")
    result = _run("colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(random_model_file))
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert [line.split("/")[-1] for line in lines[:2]] == ["01.png: no space left on device",
                                                           "02.png: not a readable image (unknown or corrupt format)"]
    assert lines[2].startswith("1 colorized, 0 skipped, 2 failed")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00.png"]


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


def test_an_input_written_in_another_format_keeps_its_extension_where_names_meet(tmp_path: Path,
                                                                                  random_model_file: Path) -> None:
    """scan.pgm comes before scan.png, b.png before b.tga: the converted one is renamed either way, and again
    the same on the next run (which then skips all four)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("scan.pgm", "scan.png", "b.png", "b.tga"):
        Image.fromarray(smooth_color_image()[..., 0]).save(folder / name)
    out = tmp_path / "out"
    model = ["--model", str(random_model_file)]
    result = _run("colorize", str(folder), "-o", str(out), *model)
    assert result.exit_code == 0 and "4 colorized" in result.output, result.output
    assert sorted(p.name for p in out.iterdir()) == ["b-tga.png", "b.png", "scan-pgm.png", "scan.png"]
    result = _run("colorize", str(folder), "-o", str(out), *model)
    assert result.exit_code == 0 and "0 colorized, 4 skipped" in result.output, result.output


def test_a_full_disk_is_one_line_naming_the_output(tmp_path: Path, random_model_file: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from chromagen.media import image as media

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(media, "_encode", disk_full)
    src = tmp_path / "a.png"
    Image.fromarray(smooth_color_image()).save(src)
    result = _run("colorize", str(src), "-o", str(tmp_path / "out"), "--model", str(random_model_file))
    assert result.exit_code == 1
    assert _errors(result.output) == [f"error: {tmp_path / 'out' / 'a.png'}: cannot write (No space left on device)"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _run("colorize", str(tmp_path), "--model", "no-such-model").exit_code == 2
    assert runner.invoke(app, ["colorize", "--no-such-option"]).exit_code == 2
    assert runner.invoke(app, ["colorize"]).exit_code == 2
    assert _run("colorize", str(tmp_path), "--chroma", "-1").exit_code == 2


@pytest.mark.parametrize(("option", "message"), [
    (["--stabilize", "2"], "--stabilize must be in [0, 1)"),
    (["--crf", "99"], "--crf 99: libx264 takes 0 to 51"),
    (["--format", "bmp"], "--format 'bmp': animations can be written as"),
    (["--palette", "x"], "--palette 'x': use one of shared, frame"),
    (["--device", "tpu"], "unknown device 'tpu'"),
])
def test_bad_option_values_are_one_usage_error_before_any_work(tmp_path: Path, random_model_file: Path,
                                                                 option: list[str], message: str) -> None:
    """They used to be accepted silently for photos (--device tpu, --crf 99), or fail each film in turn."""
    Image.fromarray(smooth_color_image()).save(tmp_path / "photo.png")
    result = _run("colorize", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out"), "--model",
                  str(random_model_file), *option)
    errors = _errors(result.output)
    assert result.exit_code == 2 and len(errors) == 1 and errors[0].startswith(f"error: {message}")
    assert not (tmp_path / "out" / "photo.png").exists()


def test_missing_input_is_a_failure_not_a_crash(tmp_path: Path, random_model_file: Path) -> None:
    result = _run("colorize", str(tmp_path / "nope.jpg"), "--model", str(random_model_file))
    assert result.exit_code == 1 and "no such file" in result.output


def test_version_and_models() -> None:
    assert __version__ in _run("--version").output
    result = _run("models")
    assert result.exit_code == 0 and "effnet-unet" in result.output


# --- reliability: the hostile-user cases of issue #10 ---------------------------------------------------------


def test_every_page_of_a_multi_page_tiff_is_colorized(tmp_path: Path, random_model_file: Path) -> None:
    """Only the first page used to come out: the back of a scanned print was lost without a word."""
    import tifffile

    front = skdata.camera()[::8, ::8]
    back = (np.linspace(0, 65535, 20 * 24).reshape(20, 24)).astype(np.uint16)
    with tifffile.TiffWriter(tmp_path / "print.tif") as tiff:
        tiff.write(front, photometric="minisblack")
        tiff.write(back, photometric="minisblack")
    result = _run("colorize", str(tmp_path / "print.tif"), "-o", str(tmp_path / "out"), "--model",
                  str(random_model_file))
    assert result.exit_code == 0, result.output
    pages = [page.asarray() for page in tifffile.TiffFile(tmp_path / "out" / "print.tif").pages]
    assert [(p.shape, p.dtype) for p in pages] == [((64, 64, 3), np.uint8), ((20, 24, 3), np.uint16)]
    gray = [p.astype(float) @ [0.2126, 0.7152, 0.0722] / np.iinfo(p.dtype).max for p in pages]
    assert np.abs(gray[0] - front / 255).mean() < 0.05 and np.abs(gray[1] - back / 65535).mean() < 0.05


def test_a_heic_beside_the_scans_is_named_and_skipped(tmp_path: Path, random_model_file: Path) -> None:
    Image.fromarray(smooth_color_image()).save(tmp_path / "scan.png")
    (tmp_path / "phone.heic").write_bytes(b"ftypheic")
    result = _run("colorize", str(tmp_path), "-o", str(tmp_path / "out"), "--model", str(random_model_file))
    assert result.exit_code == 0 and "1 colorized, 1 skipped, 0 failed" in result.output
    assert f"skipped: {tmp_path / 'phone.heic'}: HEIC/HEIF photos are not read" in result.output


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_paths_with_brackets_are_printed_literally(tmp_path: Path, random_model_file: Path) -> None:
    """``bracket[/x].jpg`` used to raise rich's MarkupError and stop the batch; ``[draft]`` vanished."""
    folder = tmp_path / "in"
    (folder / "bracket[").mkdir(parents=True)
    (folder / "bracket[" / "x].jpg").write_bytes(b"not a jpeg")
    (folder / "scan [draft].jpg").write_bytes(b"not a jpeg either")
    Image.fromarray(smooth_color_image()).save(folder / "zz good.png")
    result = _run("colorize", str(folder), "-o", str(tmp_path / "out"), "--model", str(random_model_file))
    assert result.exit_code == 1
    assert "1 colorized, 0 skipped, 2 failed" in result.output
    errors = _errors(result.output)
    assert any(f"{folder}/bracket[/x].jpg:" in e for e in errors)
    assert any(f"{folder}/scan [draft].jpg:" in e for e in errors)


def test_a_newline_in_a_file_name_stays_on_one_line(tmp_path: Path, random_model_file: Path) -> None:
    bad = tmp_path / "two\nlines.jpg"
    bad.write_bytes(b"garbage")
    result = _run("colorize", str(bad), "-o", str(tmp_path / "out"), "--model", str(random_model_file))
    assert result.exit_code == 1
    assert _errors(result.output) == [line for line in result.output.splitlines() if "lines.jpg" in line]
    assert "two\\nlines.jpg" in result.output


def test_the_summary_names_a_long_output_folder_on_one_line(tmp_path: Path, random_model_file: Path) -> None:
    """Piped output used to be wrapped at 160 columns, splitting the path of a deep output folder."""
    Image.fromarray(smooth_color_image()).save(tmp_path / "photo.png")
    output = tmp_path / ("deep-" * 20) / ("folder-" * 20)
    result = _run("colorize", str(tmp_path / "photo.png"), "-o", str(output), "--model", str(random_model_file))
    assert result.exit_code == 0
    assert f"1 colorized, 0 skipped, 0 failed -> {output}" in result.output.splitlines()


def test_unreadable_fifo_and_missing_inputs_do_not_stop_the_batch(tmp_path: Path, random_model_file: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "locked.png", "z.png"):
        Image.fromarray(smooth_color_image()).save(folder / name)
    os.mkfifo(folder / "pipe.jpg")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p).name == "locked.png" else real_access(p, m))
    result = _run("colorize", str(folder), str(tmp_path / "gone.jpg"), "-o", str(tmp_path / "out"),
                  "--model", str(random_model_file))
    assert result.exit_code == 1
    assert "2 colorized, 0 skipped, 3 failed" in result.output
    errors = " ".join(_errors(result.output))
    assert "pipe.jpg: not a regular file" in errors and "locked.png: permission denied" in errors
    assert "gone.jpg: no such file or folder" in errors


@pytest.mark.parametrize("where", ["file", "proc", "read-only"])
def test_unusable_output_is_one_usage_error_up_front(tmp_path: Path, where: str, random_model_file: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    src = tmp_path / "a.png"
    Image.fromarray(smooth_color_image()).save(src)
    output = {"file": src, "proc": Path("/proc/chromagen-out"), "read-only": tmp_path / "ro"}[where]
    if where == "read-only":  # as root, permissions do not bite: fail the write probe the way EACCES would
        def denied(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    result = _run("colorize", str(src), str(src), "-o", str(output), "--model", str(random_model_file))
    assert result.exit_code == 2
    assert len(_errors(result.output)) == 1 and str(output) in result.output
    assert "internal error" not in result.output


def test_output_folder_inside_the_input_is_not_read_back(tmp_path: Path, random_model_file: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(smooth_color_image()).save(folder / "a.png")
    for _ in range(2):
        result = _run("colorize", str(folder), "-o", str(folder / "out"), "--model", str(random_model_file))
        assert result.exit_code == 0, result.output
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*.png")) == ["a.png", "out/a.png"]


def test_a_source_file_is_never_overwritten(tmp_path: Path, random_model_file: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(smooth_color_image()).save(folder / "a.png")
    before = (folder / "a.png").read_bytes()
    result = _run("colorize", str(folder), "-o", str(folder), "--overwrite", "--model", str(random_model_file))
    assert result.exit_code == 1 and "would replace a source file" in result.output
    assert (folder / "a.png").read_bytes() == before


@pytest.mark.parametrize("ext", [".png", ".gif"])  # a still photo; an animation (its temporary name was too long)
def test_a_250_byte_file_name_is_colorized(tmp_path: Path, random_model_file: Path, ext: str) -> None:
    src = tmp_path / ("b" * 246 + ext)
    frames = [Image.fromarray(smooth_color_image(seed=i)) for i in range(1 if ext == ".png" else 2)]
    frames[0].save(src, save_all=True, append_images=frames[1:])
    result = _run("colorize", str(src), "-o", str(tmp_path / "out"), "--model", str(random_model_file))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / src.name).is_file()


def test_16_bit_input_gives_16_bit_output_with_its_metadata(tmp_path: Path, random_model_file: Path) -> None:
    import tifffile

    ramp = (np.linspace(0, 65535, 48 * 64).reshape(48, 64)).astype(np.uint16)
    exif = Image.Exif()
    exif[0x010F] = "Kodak"
    Image.fromarray(ramp).save(tmp_path / "scan.tif", exif=exif, dpi=(1200, 1200))
    result = _run("colorize", str(tmp_path / "scan.tif"), "-o", str(tmp_path / "out"),
                  "--model", str(random_model_file))
    assert result.exit_code == 0, result.output
    written = tmp_path / "out" / "scan.tif"
    assert tifffile.imread(written).dtype == np.uint16
    out = Image.open(written)
    assert out.getexif().get(0x010F) == "Kodak" and out.info["dpi"] == pytest.approx((1200, 1200))


def test_help_shows_no_python_types() -> None:
    for command in ("colorize", "train", "evaluate", "compare", "prior"):
        text = runner.invoke(app, [command, "--help"], terminal_width=200).output
        for placeholder in ("<list[", "<int>", "<str>", "<bool>", "<float>", "<path>"):
            assert placeholder not in text, (command, placeholder)


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_while_writing_leaves_no_part_file(tmp_path: Path, name: str) -> None:
    """SIGINT always cleaned the temporary file; SIGTERM killed the process and left a hidden ``.part``."""
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import signal, sys, time
        # Ctrl-C as a terminal delivers it, even where the test runner was started with SIGINT ignored
        # (a background job of a shell without job control, e.g. under nohup), which the child inherits
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import numpy as np
        from PIL import Image
        from typer.testing import CliRunner
        from chromagen.cli import app
        from chromagen.media import image as media

        def slow_encode(target, *args, **kwargs):  # half a file on disk, then a long wait
            open(target, "wb").write(b"half an image")
            print("writing", flush=True)
            time.sleep(60)

        media._encode = slow_encode
        # the real entry point installs the handler in the app callback; run it, then save like colorize
        CliRunner().invoke(app, ["models"])
        media.save_image(np.zeros((4, 4, 3), np.uint8), {str(tmp_path / "out.png")!r})
    """)
    import chromagen

    src = Path(chromagen.__file__).resolve().parents[1]  # the chromagen under test, in the child too
    env = {**__import__("os").environ, "PYTHONPATH": f"{src}:{Path(__file__).parents[1]}"}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "writing"
    assert list(tmp_path.glob(".*.part"))  # the temporary file exists while writing
    signum = getattr(signal, name)
    proc.send_signal(signum)
    assert proc.wait(timeout=90) in (128 + signum, -signum)  # SIGINT: Python re-raises it after cleanup
    assert not list(tmp_path.iterdir())
