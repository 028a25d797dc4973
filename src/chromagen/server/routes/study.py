"""``GET /study`` and its API: draw a trial, show its image, record the answer, report the fooled rate."""

import hashlib
import random
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from chromagen.media.image import load_image, save_image
from chromagen.server.deps import admission, require_token
from chromagen.server.errors import ApiError
from chromagen.server.study import Trial, draw

router = APIRouter(prefix="/api/v1/study", tags=["study"], dependencies=[Depends(require_token)])
_rng = random.SystemRandom()


class Answer(BaseModel):
    trial: str
    answer: Literal["real", "colorized"]


def _photos(request: Request) -> tuple[Path, list[str]]:
    folder = request.app.state.settings.study_dir
    photos = request.app.state.study_photos
    if folder is None or not photos:
        raise ApiError(404, "no study here: start the server with --study-dir FOLDER (a folder of color photos)")
    return folder, photos


@router.get("/next")
async def next_trial(request: Request) -> dict[str, str]:
    """A new trial: which photo and whether it is shown real stays on the server until answered."""
    _, photos = _photos(request)
    trial = request.app.state.study.new_trial(*draw(photos, _rng))
    return {"trial": trial.id, "image": f"/api/v1/study/trials/{trial.id}/image"}


def _render(request: Request, trial: Trial) -> Path:
    """The trial's JPEG (cached): the photo itself, or our colorization of its lightness, encoded alike."""
    folder, _ = _photos(request)
    key = hashlib.sha256(trial.photo.encode()).hexdigest()[:16]
    target = Path(request.app.state.tmp) / "study" / f"{key}-{'real' if trial.real else 'colorized'}.jpg"
    if not target.exists():
        image = load_image(folder / trial.photo)
        engine = request.app.state.engine
        name = engine.default
        pixels = image.pixels if trial.real else engine.colorize(image, name, request.app.state.settings.size, None)
        save_image(pixels, target, overwrite=True, quality=90)
    return target


@router.get("/trials/{trial_id}/image", response_class=FileResponse, dependencies=[Depends(admission)])
async def trial_image(request: Request, trial_id: str) -> FileResponse:
    trial = request.app.state.study.trial(trial_id)
    if trial is None:
        raise ApiError(404, f"no trial {trial_id!r}")
    path = await request.app.state.pool.run(_render, request, trial)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/answers")
async def answer(request: Request, body: Answer) -> dict[str, Any]:
    """Record the first answer to a trial and reveal the truth."""
    store = request.app.state.study
    trial = store.trial(body.trial)
    if trial is None:
        raise ApiError(404, f"no trial {body.trial!r}")
    if not store.answer(trial.id, body.answer == "real"):
        raise ApiError(409, "this trial was already answered")
    return {"recorded": True, "truth": "real" if trial.real else "colorized"}


@router.get("/results")
async def results(request: Request) -> dict[str, Any]:
    """The fooled rate (colorized photos judged real) with a 95% Wilson interval, and the real-photo baseline."""
    return request.app.state.study.results()

