"""The Dask recipe: 200 photos on a 2-worker local cluster, one worker killed mid-run, then a rerun."""

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chromagen.distributed import colorize_archive
from tests.conftest import smooth_color_image

distributed = pytest.importorskip("distributed")

PHOTOS = 200


@pytest.mark.slow
def test_archive_survives_a_killed_worker_reports_failures_and_resumes(tmp_path: Path) -> None:
    root, out = tmp_path / "archive", tmp_path / "colorized"
    for i in range(PHOTOS):
        folder = root / f"box{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_color_image(48, 64, seed=i)).convert("L").save(folder / f"scan{i:03d}.jpg")
    bad = {str(root / "box0" / "torn.jpg"), str(root / "box1" / "empty.png")}
    Path(sorted(bad)[0]).write_bytes(b"")
    Path(sorted(bad)[1]).write_text("not a photo")
    (root / "box2" / "phone.heic").write_bytes(b"ftypheic")  # the CLI's walker: named and skipped, not lost
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        victim = next(iter(client.run(os.getpid).values()))
        seen: list[tuple[str, str, str]] = []

        def kill_one_worker_after_twenty(result: tuple[str, str, str]) -> None:
            seen.append(result)
            if len(seen) == 20:
                os.kill(victim, signal.SIGKILL)

        report = colorize_archive(client, root, out, on_result=kill_one_worker_after_twenty)
        assert victim not in client.run(os.getpid).values()  # the killed worker is gone, its photos were rerun
        # A photo written just before its worker died comes back "skipped" from the worker that reran it.
        assert len(report.done) + len(report.skipped) == PHOTOS and set(report.failed) == bad
        assert report.unread == [f"{root / 'box2' / 'phone.heic'}: HEIC/HEIF photos are not read; convert to TIFF, "
                                 "PNG or JPEG first"]
        assert report.summary().endswith(f"{len(report.skipped) + 1} skipped, 2 failed")
        assert len(list(out.rglob("*.jpg"))) == PHOTOS
        assert all("empty" in r or "not a readable image" in r or "decode" in r for r in report.failed.values())
        for i in (0, 77, 199):
            colorized = np.asarray(Image.open(out / f"box{i % 4}" / f"scan{i:03d}.jpg"))
            assert colorized.shape == (48, 64, 3)
        rerun = colorize_archive(client, root, out)
    assert (len(rerun.done), len(rerun.skipped), set(rerun.failed)) == (0, PHOTOS, bad)


def test_the_plan_names_outputs_as_the_cli_does_and_refuses_two_inputs_for_one_output(tmp_path: Path) -> None:
    from chromagen.distributed import plan
    from chromagen.errors import ChromagenError

    root, out = tmp_path / "archive", tmp_path / "out"
    (root / "sub").mkdir(parents=True)
    names = ["scan.pgm", "scan.png", "sub/b.png", "sub/b.tga"]
    for name in names:
        Image.fromarray(smooth_color_image()).save(root / name)
    pairs = plan(sorted(root / name for name in names), root, out)
    assert [Path(t).relative_to(out).as_posix() for _, t in pairs] == ["scan-pgm.png", "scan.png", "sub/b.png",
                                                                       "sub/b-tga.png"]
    for name in ("c-tga.png", "c.png", "c.tga"):  # c.tga's own renamed output is taken by c-tga.png
        Image.fromarray(smooth_color_image()).save(root / name)
    with pytest.raises(ChromagenError, match="c.tga: another input already writes .*c-tga.png"):
        plan(sorted(root.rglob("*.*")), root, out)
