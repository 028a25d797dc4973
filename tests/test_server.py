"""``chromagen serve``: every route and every error, through FastAPI's test client (a real socket where it matters)."""

import io
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageSequence

from chromagen.server import Settings, create_app
from chromagen.server.study import wilson_interval
from tests.conftest import smooth_color_image
from tests.server_helpers import decoded, jpeg_bytes, live_server, pixels

STATIC = Path(__file__).resolve().parents[1] / "src" / "chromagen" / "server" / "static"


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(smooth_color_image(40, 56, seed=i)).save(folder / f"photo{i}.jpg", quality=90)
    return folder


@pytest.fixture
def settings(tmp_path: Path, random_model_file: Path, study_dir: Path) -> Settings:
    return Settings(model=str(random_model_file), device="cpu", size=64, max_upload_mb=1, max_pixels=1_000_000,
                    study_dir=study_dir, study_db=tmp_path / "study.sqlite")


def _client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    yield from _client(settings)


def _post(client: TestClient, data: bytes = b"", name: str = "photo.jpg", route: str = "/api/v1/colorize",
          field: str = "image", **fields: str) -> "object":
    return client.post(route, files={field: (name, data or jpeg_bytes(), "application/octet-stream")}, data=fields)


def _leftovers(client: TestClient) -> list[Path]:
    """Files left in the server's temporary folder outside the kept uploads, jobs and study cache."""
    tmp = client.app.state.tmp
    kept = ("uploads", "jobs", "study")
    return [p for p in tmp.rglob("*") if p.is_file() and p.relative_to(tmp).parts[0] not in kept]


def test_healthz_and_page_and_docs_need_no_token(settings: Settings) -> None:
    with TestClient(create_app(Settings(**{**settings.__dict__, "token": "s3cret"}))) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert "<title>chromagen" in client.get("/").text
        assert "Real or colorized?" in client.get("/study").text
        docs = client.get("/docs").text
        assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
        assert "/api/v1/colorize" in client.get("/openapi.json").json()["paths"]


def test_models_lists_the_default_first_with_its_card(client: TestClient) -> None:
    models = client.get("/api/v1/models").json()
    assert models[0] == {"name": "random", "architecture": "", "chroma": 1.0, "hints": False,
                         "description": "weights file random.safetensors", "figures": {}}
    assert next(m for m in models if m["name"] == "hints")["hints"] is True
    default = next(m for m in models if m["name"] == "default")
    assert default["architecture"] and default["chroma"] > 0 and default["description"]
    assert default["figures"]["val"]["psnr"] > 0


@pytest.mark.parametrize("fmt, pillow", [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_colorize_keeps_size_in_each_format(client: TestClient, fmt: str, pillow: str) -> None:
    response = _post(client, jpeg_bytes(45, 70), format=fmt)
    assert response.status_code == 200, response.text
    image = decoded(response.content)
    assert image.format == pillow and image.size == (70, 45) and image.mode == "RGB"
    assert response.headers["content-type"] == f"image/{fmt}"


def test_colorize_answers_in_the_uploads_format_and_keeps_exif(client: TestClient) -> None:
    exif = Image.Exif()
    exif[0x010E] = "harbour, 1910"  # ImageDescription
    response = _post(client, jpeg_bytes(exif=exif.tobytes()))
    image = decoded(response.content)
    assert image.format == "JPEG"
    assert image.getexif().get(0x010E) == "harbour, 1910"


def test_colorize_options_change_the_result(client: TestClient) -> None:
    gray = _post(client, format="png", chroma="0")
    vivid = _post(client, format="png", chroma="3")
    assert gray.status_code == vivid.status_code == 200
    gray_pixels = pixels(gray.content)
    assert abs(gray_pixels[..., 0] - gray_pixels[..., 2]).max() <= 2  # no chroma: gray
    assert abs(pixels(vivid.content) - gray_pixels).max() > 5


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("image, fmt, out", [
    (Image.new("L", (1, 1), 90), "PNG", "png"),
    (Image.fromarray(smooth_color_image()).convert("RGBA"), "PNG", "jpeg"),  # alpha dropped for JPEG
    (Image.fromarray((smooth_color_image()[..., 0].astype("uint16") * 257)), "PNG", "png"),  # 16-bit gray
    (Image.fromarray(smooth_color_image()).convert("CMYK"), "JPEG", "png"),
    (Image.fromarray(smooth_color_image()).convert("P"), "GIF", "webp"),
])
def test_odd_but_valid_images_colorize(client: TestClient, image: Image.Image, fmt: str, out: str) -> None:
    response = _post(client, _encoded(image, fmt), name=f"odd.{fmt.lower()}", format=out)
    assert response.status_code == 200, response.text
    assert decoded(response.content).size == image.size


def _tiff_pages(count: int = 2) -> bytes:
    """A multi-page TIFF whose pages differ in size and content (a print's front and back)."""
    frames = [Image.fromarray(smooth_color_image(40 + 4 * (i % 3), 56 - 4 * (i % 3), seed=i)) for i in range(count)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def _pages(data: bytes) -> list[np.ndarray]:
    return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(decoded(data))]


def test_a_multi_page_tiff_comes_back_with_every_page_colorized(client: TestClient) -> None:
    data = _tiff_pages()
    response = _post(client, data, name="scan.tif", chroma="2")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/tiff"
    assert 'filename="scan-color.tif"' in response.headers["content-disposition"]
    alone = [pixels(_post(client, _encoded(Image.fromarray(page), "PNG"), name="page.png", chroma="2").content)
             for page in _pages(data)]  # each page colorized as a photo of its own
    assert [p.shape for p in _pages(response.content)] == [(40, 56, 3), (44, 52, 3)]
    assert all(np.array_equal(got, want) for got, want in zip(_pages(response.content), alone))


@pytest.mark.parametrize("data, fields, status, problem", [
    (_tiff_pages(), {"format": "png"}, 422, "scan.tif has 2 pages; format=png holds one"),
    (_tiff_pages(65), {}, 413, "scan.tif has 65 pages; a request colorizes at most 64"),
])
def test_multi_page_tiffs_that_cannot_be_answered_whole_are_refused(client: TestClient, data: bytes,
                                                                     fields: dict[str, str], status: int,
                                                                     problem: str) -> None:
    response = _post(client, data, name="scan.tif", **fields)
    assert response.status_code == status and problem in response.json()["error"]
    assert not _leftovers(client)


def test_a_kept_multi_page_tiff_shows_its_first_page_and_downloads_them_all(client: TestClient) -> None:
    info = _post(client, _tiff_pages(3), name="scan.tiff", route="/api/v1/uploads").json()
    assert (info["width"], info["height"], info["pages"]) == (56, 40, 3)
    url = f"/api/v1/uploads/{info['id']}/colorized"
    assert decoded(client.get(url, params={"format": "jpeg"}).content).size == (56, 40)
    everything = client.get(url, params={"format": "tiff", "chroma": 2})
    assert everything.status_code == 200 and everything.headers["content-type"] == "image/tiff"
    assert [p.shape for p in _pages(everything.content)] == [(40, 56, 3), (44, 52, 3), (48, 48, 3)]


@pytest.mark.parametrize("fields, problem", [
    ({"chroma": "9"}, "chroma"), ({"chroma": "x"}, "chroma"), ({"size": "4"}, "size"),
    ({"format": "gif"}, "format"), ({"model": "nope"}, "unknown model 'nope'"),
])
def test_bad_options_are_422_json(client: TestClient, fields: dict[str, str], problem: str) -> None:
    response = _post(client, **fields)
    assert response.status_code == 422 and problem in response.json()["error"]


@pytest.mark.parametrize("data, name", [(b"meeting notes\n", "notes.txt"),
                                        (b"\xff\xd8\xff\xe0" + b"\0" * 64, "cut.jpg")])
def test_not_an_image_is_415_naming_the_file(client: TestClient, data: bytes, name: str) -> None:
    response = _post(client, data, name=name)
    assert response.status_code == 415
    assert response.json()["error"].startswith(f"{name}: ")


def test_request_shape_errors(client: TestClient) -> None:
    assert client.post("/api/v1/colorize", content=b"raw", headers={"content-type": "image/jpeg"}).status_code == 415
    missing = client.post("/api/v1/colorize", files={"other": ("a.jpg", jpeg_bytes())})
    assert missing.status_code == 422 and "'image'" in missing.json()["error"]
    empty = _post(client, b"", name="empty.jpg")  # _post sends a default image for b""; send a real empty part
    assert empty.status_code == 200
    zero = client.post("/api/v1/colorize", files={"image": ("zero.jpg", b"")})
    assert zero.status_code == 422 and "zero.jpg" in zero.json()["error"]


@pytest.mark.parametrize("code, status", [("ENOSPC", 507), ("EACCES", 500)])
def test_the_server_s_own_disk_refusing_a_file_is_not_the_client_s_fault(client: TestClient,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        code: str, status: int) -> None:
    import errno
    import os

    from chromagen.media import image as media

    def refused(*args: object) -> None:
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

    monkeypatch.setattr(media, "_encode", refused)
    response = _post(client)
    assert response.status_code == status
    assert response.json() == {"error": f"the server could not store a file ({os.strerror(getattr(errno, code))}); "
                                        "try again later"}
    assert not _leftovers(client)


def test_upload_over_the_limit_is_413_declared_or_streamed(client: TestClient) -> None:
    big = b"\0" * (2 * 1024 * 1024)  # the fixture's limit is 1 MB
    declared = _post(client, big)
    assert declared.status_code == 413 and "1 MB" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies to the bytes read
        yield b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n"
        for _ in range(40):
            yield b"\0" * 65536
        yield b"\r\n--b--\r\n"

    streamed = client.post("/api/v1/colorize", content=chunks(),
                           headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    assert not _leftovers(client)


def test_too_many_pixels_is_413_before_decoding(client: TestClient) -> None:
    buffer = io.BytesIO()
    Image.new("L", (1200, 1000)).save(buffer, format="PNG")  # 1.2 MP in a few KB, limit 1 MP
    response = _post(client, buffer.getvalue(), name="wide.png")
    assert response.status_code == 413 and "1,200,000 pixels" in response.json()["error"]


def test_token_is_required_when_set(settings: Settings) -> None:
    with TestClient(create_app(Settings(**{**settings.__dict__, "token": "s3cret"}))) as client:
        assert client.get("/api/v1/models").status_code == 401
        wrong = client.get("/api/v1/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "token" in wrong.json()["error"]
        assert _post(client).status_code == 401
        assert client.get("/api/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_full_queue_is_503_with_retry_after(settings: Settings) -> None:
    with TestClient(create_app(Settings(**{**settings.__dict__, "workers": 1, "queue": 0}))) as client:
        pool = client.app.state.pool
        assert pool.try_admit()  # the only slot is busy
        busy = _post(client)
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1 and "busy" in busy.json()["error"]
        assert client.post("/api/v1/jobs", files={"file": ("a.jpg", jpeg_bytes())}).status_code == 503
        pool.release()
        assert _post(client).status_code == 200


def test_temporary_files_are_removed_after_success_and_failure(client: TestClient) -> None:
    _post(client)
    _post(client, b"not an image", name="x.jpg")
    _post(client, chroma="99")
    assert not _leftovers(client)
    tmp = client.app.state.tmp
    client.__exit__(None, None, None)  # server shutdown removes everything
    assert not tmp.exists()


def test_kept_upload_rerenders_without_predicting_again(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    created = _post(client, jpeg_bytes(45, 70), route="/api/v1/uploads")
    info = created.json()
    assert created.status_code == 200 and (info["width"], info["height"]) == (70, 45)
    engine = client.app.state.engine
    predictions = []
    monkeypatch.setattr(engine, "predict", lambda *args: predictions.append(args) or pytest.fail("predicted again"))
    url = f"/api/v1/uploads/{info['id']}/colorized"
    low = client.get(url, params={"chroma": 0.5, "format": "png"})
    high = client.get(url, params={"chroma": 3, "format": "png"})
    assert low.status_code == high.status_code == 200 and not predictions
    assert decoded(high.content).size == (70, 45)
    assert abs(pixels(high.content) - pixels(low.content)).max() > 5


def test_kept_upload_switches_model_and_can_be_deleted(client: TestClient) -> None:
    upload_id = _post(client, route="/api/v1/uploads").json()["id"]
    url = f"/api/v1/uploads/{upload_id}/colorized"
    assert client.get(url, params={"model": "default"}).status_code == 200
    assert client.get(url, params={"model": "nope"}).status_code == 422
    assert client.get(url, params={"chroma": -1}).status_code == 422
    assert client.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    gone = client.get(url)
    assert gone.status_code == 404 and "upload the image again" in gone.json()["error"]


def test_hints_recolor_a_kept_upload_with_the_hint_model(client: TestClient) -> None:
    """No model named: hints pick the bundled hint-aware one; the same hints reuse its kept prediction."""
    upload_id = _post(client, jpeg_bytes(45, 70), route="/api/v1/uploads").json()["id"]
    url = f"/api/v1/uploads/{upload_id}/colorized"
    plain = client.get(url, params={"format": "png"})
    red = client.get(url, params={"format": "png", "hint": ["35,22,#ff0000", "5,5,blue"]})
    assert plain.status_code == red.status_code == 200 and decoded(red.content).size == (70, 45)
    assert abs(pixels(red.content) - pixels(plain.content)).max() > 5
    assert pixels(red.content)[22, 35, 0] > pixels(red.content)[22, 35, 2]  # red where the hint is
    session = client.app.state.sessions.get(upload_id)
    client.get(url, params={"format": "png", "hint": ["35,22,#00ff00"]})
    assert [key[0] for key in session.ab if key[2]] == ["hints"]  # only the latest hinted prediction is kept


def test_one_shot_colorize_takes_hints_as_json(client: TestClient) -> None:
    plain = _post(client, jpeg_bytes(45, 70), format="png")
    red = _post(client, jpeg_bytes(45, 70), format="png", hints='[{"x": 35, "y": 22, "color": "#ff0000"}]')
    assert plain.status_code == red.status_code == 200
    assert abs(pixels(red.content) - pixels(plain.content)).max() > 5
    assert pixels(red.content)[22, 35, 0] > pixels(red.content)[22, 35, 2]
    for hints, problem in [("[{", "hints: cannot read hints"), ('[{"x": 1, "y": 1}]', "hints: hint 0 must be"),
                           ('[{"x": 99, "y": 1, "color": "red"}]', "outside the 70x45 image")]:
        response = _post(client, jpeg_bytes(45, 70), hints=hints)
        assert response.status_code == 422 and problem in response.json()["error"]


@pytest.mark.parametrize("params, problem", [
    ({"hint": "35,22,#ff00zz"}, "bad hint color '#ff00zz'"),
    ({"hint": "70,22,red"}, "hint at 70,22,#ff0000 is outside the 70x45 image"),
    ({"hint": "35;22;red"}, "expected X,Y,#RRGGBB"),
    ({"hint": ["1,1,red"] * 65}, "at most 64 hints"),
    ({"hint": "1,1,red", "model": "default"}, "model 'default' takes no color hints"),
])
def test_bad_hints_are_422_json(client: TestClient, params: dict[str, object], problem: str) -> None:
    upload_id = _post(client, jpeg_bytes(45, 70), route="/api/v1/uploads").json()["id"]
    response = client.get(f"/api/v1/uploads/{upload_id}/colorized", params=params)
    assert response.status_code == 422 and problem in response.json()["error"]


def test_suggestions_are_distinct_colors_at_the_photos_lightness(client: TestClient) -> None:
    upload_id = _post(client, jpeg_bytes(45, 70), route="/api/v1/uploads").json()["id"]
    url = f"/api/v1/uploads/{upload_id}/suggestions"
    answer = client.get(url, params={"x": 10, "y": 20, "model": "default"}).json()
    colors = answer["colors"]
    assert answer["model"] == "default" and 2 <= len(colors) <= 6 and len(set(colors)) == len(colors)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", color) for color in colors)
    assert len(client.get(url, params={"x": 10, "y": 20, "model": "default", "count": 2}).json()["colors"]) <= 2
    assert client.get(url, params={"x": 69.5, "y": 44}).status_code == 200  # the server's model, last pixel


@pytest.mark.parametrize("params, status, problem", [
    ({"x": 70, "y": 0}, 422, "point (70, 0) is outside the 70x45 image"),
    ({"x": -1, "y": 0}, 422, "query.x: Input should be greater than or equal to 0"),
    ({"x": 1}, 422, "query.y: Field required"),
    ({"x": 1, "y": 1, "count": 0}, 422, "query.count"),
    ({"x": 1, "y": 1, "model": "nope"}, 422, "unknown model 'nope'"),
])
def test_suggestion_errors_are_one_json_line(client: TestClient, params: dict[str, object], status: int,
                                            problem: str) -> None:
    upload_id = _post(client, jpeg_bytes(45, 70), route="/api/v1/uploads").json()["id"]
    response = client.get(f"/api/v1/uploads/{upload_id}/suggestions", params=params)
    assert response.status_code == status and problem in response.json()["error"]
    assert client.get("/api/v1/uploads/nope/suggestions", params={"x": 1, "y": 1}).status_code == 404


def test_kept_uploads_are_bounded(settings: Settings) -> None:
    with TestClient(create_app(Settings(**{**settings.__dict__, "sessions": 2}))) as client:
        ids = [_post(client, route="/api/v1/uploads").json()["id"] for _ in range(3)]
        assert client.get(f"/api/v1/uploads/{ids[0]}/colorized").status_code == 404
        assert client.get(f"/api/v1/uploads/{ids[2]}/colorized").status_code == 200
        assert len(list((client.app.state.tmp / "uploads").iterdir())) == 2


def _answer_trials(client: TestClient, count: int, say_real: bool) -> list[str]:
    truths = []
    for _ in range(count):
        trial = client.get("/api/v1/study/next").json()
        image = client.get(trial["image"])
        assert image.status_code == 200 and decoded(image.content).size == (56, 40)
        answer = {"trial": trial["trial"], "answer": "real" if say_real else "colorized"}
        truths.append(client.post("/api/v1/study/answers", json=answer).json()["truth"])
    return truths


def test_study_records_answers_across_restarts(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        truths = _answer_trials(client, 6, say_real=True)
    with TestClient(create_app(settings)) as client:  # a new server on the same database
        truths += _answer_trials(client, 4, say_real=True)
        results = client.get("/api/v1/study/results").json()
    colorized = truths.count("colorized")
    assert results["answers"] == 10 and results["colorized_shown"] == colorized
    assert results["fooled"] == colorized  # every answer was "real"
    assert results["real_judged_real"] == truths.count("real")
    if colorized:
        assert results["fooled_rate"] == 1.0
        assert results["fooled_ci95"] == pytest.approx(list(wilson_interval(colorized, colorized)))


def test_study_answer_errors(client: TestClient) -> None:
    trial = client.get("/api/v1/study/next").json()["trial"]
    assert client.post("/api/v1/study/answers", json={"trial": trial, "answer": "real"}).status_code == 200
    again = client.post("/api/v1/study/answers", json={"trial": trial, "answer": "colorized"})
    assert again.status_code == 409 and "already answered" in again.json()["error"]
    assert client.post("/api/v1/study/answers", json={"trial": "nope", "answer": "real"}).status_code == 404
    assert client.post("/api/v1/study/answers", json={"trial": trial, "answer": "maybe"}).status_code == 422
    assert client.get("/api/v1/study/trials/nope/image").status_code == 404


def test_study_without_a_folder_is_404_but_results_work(settings: Settings) -> None:
    with TestClient(create_app(Settings(**{**settings.__dict__, "study_dir": None}))) as client:
        response = client.get("/api/v1/study/next")
        assert response.status_code == 404 and "--study-dir" in response.json()["error"]
        assert client.get("/api/v1/study/results").json()["fooled_rate"] is None


def test_wilson_interval_matches_the_textbook() -> None:
    low, high = wilson_interval(8, 10)  # Wilson (1927) / Agresti & Coull (1998): 0.490 to 0.943
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(20, 20)[1] == 1.0


def _wait(client: TestClient, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_job_runs_in_the_background_and_downloads(client: TestClient) -> None:
    submitted = _post(client, jpeg_bytes(45, 70), route="/api/v1/jobs", field="file")
    assert submitted.status_code == 202 and submitted.headers["Location"] == f"/api/v1/jobs/{submitted.json()['id']}"
    job = _wait(client, submitted.json()["id"])
    assert job["status"] == "done" and job["progress"] == 1.0
    result = client.get(job["download"])
    assert result.status_code == 200 and decoded(result.content).size == (70, 45)
    assert 'filename="photo-color.png"' in result.headers["content-disposition"]


def test_job_errors(client: TestClient) -> None:
    unknown = _post(client, b"data", name="notes.txt", route="/api/v1/jobs", field="file")
    assert unknown.status_code == 415 and "notes.txt: no job kind takes this file" in unknown.json()["error"]
    broken = _post(client, b"not a jpeg", name="broken.jpg", route="/api/v1/jobs", field="file").json()
    job = _wait(client, broken["id"])
    assert job["status"] == "failed" and job["error"].startswith("broken.jpg: ")
    refused = client.get(f"/api/v1/jobs/{job['id']}/result")
    assert refused.status_code == 409 and "failed" in refused.json()["error"]
    assert client.get("/api/v1/jobs/nope").status_code == 404


def test_a_30_mb_upload_gets_413_before_it_is_sent(settings: Settings) -> None:
    """Over a real socket: the answer arrives while most of the body is still unsent."""
    with live_server(create_app(Settings(**{**settings.__dict__, "max_upload_mb": 25}))) as url:
        host, port = url.removeprefix("http://").split(":")
        body_size = 30 * 1024 * 1024
        head = (f"POST /api/v1/colorize HTTP/1.1\r\nHost: {host}\r\nContent-Length: {body_size}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n\r\n").encode()
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(head + b"\0" * 1024 * 1024)  # 1 MB of 30
            answer = b""
            while b"}" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413") and b'"error":"upload larger' in answer


def test_page_assets_make_no_external_requests() -> None:
    for path in STATIC.glob("*.*"):
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name


def test_serve_command_builds_the_app_or_fails_with_one_line(tmp_path: Path, random_model_file: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from chromagen.cli import app as cli

    runner = CliRunner()
    bad = runner.invoke(cli, ["serve", "--study-dir", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "error: --study-dir" in bad.output and "Traceback" not in bad.output
    assert runner.invoke(cli, ["serve", "--model", "no-such-model"]).exit_code == 2
    assert runner.invoke(cli, ["serve", "--workers", "0"]).exit_code == 2
    (tmp_path / "db").mkdir()
    unusable = runner.invoke(cli, ["serve", "--model", str(random_model_file), "--study-db", str(tmp_path / "db")])
    assert unusable.exit_code == 2 and "cannot open the study database" in unusable.output
    started = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets: started.update(
        app=server.config.app, address=sockets[0].getsockname()) or sockets[0].close())
    result = runner.invoke(cli, ["serve", "--model", str(random_model_file), "--port", "0", "--token", "t",
                                 "--study-db", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 0, result.output
    host, port = started["address"]
    assert host == "127.0.0.1" and port > 0 and f"serving on http://127.0.0.1:{port}/" in result.output
    assert started["app"].state.settings.token == "t"
    with socket.create_server(("127.0.0.1", 0)) as taken:  # another program holds the port
        busy = taken.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--model", str(random_model_file), "--port", str(busy),
                                     "--study-db", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "serving on" not in result.output
    assert f"error: cannot listen on 127.0.0.1:{busy} (Address already in use)" in result.output
    result = runner.invoke(cli, ["serve", "--model", str(random_model_file), "--host", "no-such-host.invalid",
                                 "--study-db", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "error: --host no-such-host.invalid: not an address" in result.output
