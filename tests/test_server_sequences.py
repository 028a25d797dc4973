"""Videos and animated GIFs as jobs (needs the [video] extra): submitted, polled, downloaded whole."""

import io
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from chromagen.server import Settings, create_app
from tests.clips import ClipSpec, Shot, frame_count, write_clip
from tests.conftest import smooth_color_image

pytest.importorskip("av")


@pytest.fixture
def client(tmp_path: Path, random_model_file: Path) -> TestClient:
    settings = Settings(model=str(random_model_file), device="cpu", size=64, max_upload_mb=5,
                        study_db=tmp_path / "study.sqlite")
    with TestClient(create_app(settings)) as client:
        yield client


def _finish(client: TestClient, data: bytes, name: str) -> "object":
    submitted = client.post("/api/v1/jobs", files={"file": (name, data)})
    assert submitted.status_code == 202, submitted.text
    deadline = time.monotonic() + 120
    while (job := client.get(submitted.headers["Location"]).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0
    return client.get(job["download"])


def test_animated_gif_job_keeps_every_frame(client: TestClient) -> None:
    frames = [Image.fromarray(smooth_color_image(40, 56, seed=i)).convert("P") for i in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    result = _finish(client, buffer.getvalue(), "anim.gif")
    assert client.get("/api/v1/jobs/nope").status_code == 404
    out = Image.open(io.BytesIO(result.content))
    assert out.format == "GIF" and out.n_frames == 4 and out.size == (56, 40)
    assert 'filename="anim-color.gif"' in result.headers["content-disposition"]


def test_video_job_keeps_size_and_frame_count(client: TestClient, tmp_path: Path) -> None:
    import av

    spec = ClipSpec(width=96, height=64, shots=(Shot("coffee", 12),), audio=False)
    clip = write_clip(tmp_path / "clip.mp4", spec)
    result = _finish(client, clip.read_bytes(), "clip.mp4")
    (tmp_path / "out.mp4").write_bytes(result.content)
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.width, stream.codec_context.height) == (96, 64)
    assert frames == frame_count(spec)
