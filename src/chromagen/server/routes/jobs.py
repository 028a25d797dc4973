"""Background jobs: ``POST /api/v1/jobs`` (202 + id), ``GET /api/v1/jobs/{id}``, ``GET /api/v1/jobs/{id}/result``."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from chromagen.inference import Colorizer
from chromagen.media.image import IMAGE_EXTENSIONS, load_image, save_image
from chromagen.server.deps import require_token, take_slot
from chromagen.server.engine import Engine
from chromagen.server.errors import ApiError
from chromagen.server.jobs import Job, JobKind, Progress, execute
from chromagen.server.uploads import check_content_length, form_schema, received

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], dependencies=[Depends(require_token)])
FILE_FIELD = "file"


def image_kind(engine: Engine, size: int) -> JobKind:
    """Still images as jobs (for clients that prefer polling to holding a request open); PNG out."""
    def run(src: Path, dst: Path, progress: Progress) -> None:
        image = load_image(src)
        progress(0.2)
        rgb = engine.colorize(image, engine.default, size, None)
        progress(0.9)
        save_image(rgb, dst, alpha=image.alpha, meta=image.meta)
    takes = "images (" + " ".join(sorted(IMAGE_EXTENSIONS)) + ")"
    return JobKind("image", takes, lambda src: src.suffix.lower() in IMAGE_EXTENSIONS, lambda _: ".png", run)


def sequence_kinds(engine: Engine, size: int) -> list[JobKind]:
    """Animations and videos through ``chromagen.sequence`` (colors stabilized between frames), model's gain."""
    from chromagen.media import animation, video
    from chromagen.sequence import colorize_animation, colorize_video

    def colorizer() -> Colorizer:
        return engine.colorizer(engine.default, size, engine.model(engine.default).chroma)

    def fraction(progress: Progress) -> Callable[[int, int], None]:
        return lambda done, total: progress(done / total if total else 0.0)

    def run_animation(src: Path, dst: Path, progress: Progress) -> None:
        colorize_animation(src, dst, colorizer(), progress=fraction(progress))

    def run_video(src: Path, dst: Path, progress: Progress) -> None:
        colorize_video(src, dst, colorizer(), progress=fraction(progress))

    videos = "videos (" + " ".join(sorted(video.VIDEO_EXTENSIONS)) + ")"
    return [JobKind("animation", "animations (GIF, APNG, WebP of several frames)", animation.is_animation,
                    lambda src: src.suffix, run_animation),
            JobKind("video", videos, video.is_video_file, lambda src: video.output_path_for(src).suffix, run_video)]


def job_kinds(engine: Engine, size: int) -> dict[str, JobKind]:
    """Every kind this server runs, by name; the first that accepts a file takes it (animations before images)."""
    kinds = [*sequence_kinds(engine, size), image_kind(engine, size)]
    return {kind.name: kind for kind in kinds}


def _kind_for(request: Request, path: Path, filename: str) -> JobKind:
    kinds: dict[str, JobKind] = request.app.state.job_kinds
    for kind in kinds.values():
        if kind.accepts(path):
            return kind
    offered = "; ".join(kind.takes for kind in kinds.values())
    raise ApiError(415, f"{filename}: no job kind takes this file; this server runs jobs on {offered}")


@router.post("", status_code=202, openapi_extra=form_schema(FILE_FIELD), dependencies=[Depends(check_content_length)])
async def submit(request: Request, response: Response) -> dict[str, Any]:
    """Start a job on an uploaded file (multipart field ``file``); poll its URL, then download the result."""
    pool = request.app.state.pool
    await take_slot(request)  # held by the job until it finishes, not by this request
    try:
        async with received(request, FILE_FIELD) as upload:
            kind = _kind_for(request, upload.path, upload.filename)
            job = request.app.state.jobs.create(kind.name, upload.path, upload.filename)
    except BaseException:
        pool.release()
        raise
    pool.submit(execute, job, kind)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job.public()


def _job(request: Request, job_id: str) -> Job:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r} (finished jobs are kept only for a while)")
    return job


@router.get("/{job_id}")
async def status(request: Request, job_id: str) -> dict[str, Any]:
    """Status and progress (0..1) of a job; ``download`` is set once it is done."""
    return _job(request, job_id).public()


@router.get("/{job_id}/result", response_class=FileResponse)
async def result(request: Request, job_id: str) -> FileResponse:
    job = _job(request, job_id)
    if job.status != "done" or job.output is None:
        raise ApiError(409, f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else ""))
    name = f"{Path(job.filename).stem}-color{job.output.suffix}"
    return FileResponse(job.output, filename=name)
