"""Colorizing images: one-shot ``POST /api/v1/colorize``, and the page's kept uploads for fast sliders and hints."""

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from chromagen.defaults import DEFAULT_SIZE
from chromagen.hints import Hint, hints_from_json, parse_hint
from chromagen.inference import MAX_CHROMA
from chromagen.media.image import page_count
from chromagen.server.deps import admission, require_token
from chromagen.server.engine import MEDIA_TYPES, OUTPUT_FORMATS, Engine, encode, encode_pages, output_format
from chromagen.server.errors import ApiError
from chromagen.server.sessions import Session
from chromagen.server.uploads import FIELD, Upload, check_content_length, form_schema, open_image, receive_upload

router = APIRouter(prefix="/api/v1", tags=["images"], dependencies=[Depends(require_token)])

Format = Literal["png", "jpeg", "webp", "tiff"]
MIN_SIZE, MAX_SIZE = 16, 1024
MAX_HINTS = 64
MAX_PAGES = 64  # pages of a multi-page TIFF colorized in one request: each costs a full colorization
MAX_SUGGESTIONS = 12
IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "The colorized image."}}


class ColorizeOptions(BaseModel):
    """The optional form fields beside the image."""

    model: str | None = Field(None, description="A name from GET /api/v1/models (default: the server's model).")
    size: int = Field(DEFAULT_SIZE, ge=MIN_SIZE, le=MAX_SIZE, description="Working resolution (longer side, px).")
    chroma: float | None = Field(None, ge=0, le=MAX_CHROMA, description="Saturation gain (default: the model's).")
    format: Format | None = Field(None, description="Output format (default: the upload's, else png). A "
                                  "multi-page TIFF needs tiff, which keeps every page.")
    hints: str | None = Field(None, description='User colors: a JSON list of {"x", "y", "color"[, "patch"]} '
                              "as the CLI's --hints file. Without a model, hints pick the hint-aware one.")


def _counted(hints: list[Hint]) -> tuple[Hint, ...]:
    """At most MAX_HINTS, else 422: each hint adds work, and more would not fit the page's points."""
    if len(hints) > MAX_HINTS:
        raise ApiError(422, f"at most {MAX_HINTS} hints per request (got {len(hints)})")
    return tuple(hints)


def _options(upload: Upload, settings_size: int) -> ColorizeOptions:
    try:
        options = ColorizeOptions.model_validate({"size": settings_size, **upload.fields})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ApiError(422, problems) from None
    return options


def _image_response(data: bytes, fmt: str, filename: str) -> Response:
    stem = re.sub(r"[^\w.-]", "_", Path(filename).stem) or "image"  # the client's name, made header-safe
    return Response(data, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'inline; filename="{stem}-color{OUTPUT_FORMATS[fmt]}"'})


def _all_pages(pages: int, filename: str) -> int:
    """The pages of a multi-page TIFF that one request colorizes: all, up to MAX_PAGES, else 413."""
    if pages > MAX_PAGES:
        raise ApiError(413, f"{filename} has {pages} pages; a request colorizes at most {MAX_PAGES} "
                            "(chromagen colorize has no limit)")
    return pages


def _later_pages(request: Request, path: Path, filename: str, pages: int, model: str, size: int,
                 chroma: float | None, hints: tuple[Hint, ...]) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Pages 2 and on of a multi-page TIFF, each colorized as the writer asks for it (one page in memory)."""
    settings, engine = request.app.state.settings, request.app.state.engine
    for page in range(1, pages):
        image = open_image(path, filename, settings.max_pixels, page)
        yield engine.colorize(image, model, size, chroma, hints), image.alpha


def _colorize_upload(request: Request, upload: Upload, options: ColorizeOptions, fmt: str,
                     hints: tuple[Hint, ...]) -> bytes:
    """The answer's bytes; a multi-page TIFF is answered with every page, or refused for a one-page format."""
    settings, engine = request.app.state.settings, request.app.state.engine
    pages = _all_pages(page_count(upload.path), upload.filename)
    if pages > 1 and fmt != "tiff":
        raise ApiError(422, f"{upload.filename} has {pages} pages; format={fmt} holds one: ask for tiff, "
                            "which keeps them all")
    image = open_image(upload.path, upload.filename, settings.max_pixels)
    model = engine.pick(options.model, bool(hints))
    rgb = engine.colorize(image, model, options.size, options.chroma, hints)
    if pages > 1:
        later = _later_pages(request, upload.path, upload.filename, pages, model, options.size, options.chroma, hints)
        return encode_pages(rgb, image, later, upload.path.parent)
    return encode(rgb, image, fmt, upload.path.parent)


@router.post("/colorize", openapi_extra=form_schema(FIELD, ColorizeOptions.model_json_schema()["properties"]),
             response_class=Response, dependencies=[Depends(check_content_length), Depends(admission)],
             responses=IMAGE_RESPONSE)
async def colorize(request: Request, upload: Annotated[Upload, Depends(receive_upload)]) -> Response:
    """Colorize one image: same width and height, metadata kept as the CLI keeps it."""
    options = _options(upload, request.app.state.settings.size)
    hints = _counted(hints_from_json(options.hints, "hints") if options.hints else [])
    fmt = output_format(options.format, upload.path)
    data = await request.app.state.pool.run(_colorize_upload, request, upload, options, fmt, hints)
    return _image_response(data, fmt, upload.filename)


def _start_session(request: Request, upload: Upload, model: str, size: int) -> Session:
    settings, engine = request.app.state.settings, request.app.state.engine
    image = open_image(upload.path, upload.filename, settings.max_pixels)
    ab = engine.predict(image, model, size)
    session = request.app.state.sessions.add(upload)
    session.ab[(model, size, ())] = ab
    session.size = image.size
    session.pages = page_count(session.path)
    return session


@router.post("/uploads", openapi_extra=form_schema(FIELD),
             dependencies=[Depends(check_content_length), Depends(admission)])
async def create_upload(request: Request, upload: Annotated[Upload, Depends(receive_upload)]) -> dict[str, Any]:
    """Keep an image on the server (the page's flow): later renders only change model, gain or format.

    A multi-page TIFF is shown and hinted by its first page; a tiff render holds every page."""
    engine = request.app.state.engine
    model = engine.default
    size = request.app.state.settings.size
    session = await request.app.state.pool.run(_start_session, request, upload, model, size)
    width, height = session.size
    return {"id": session.id, "filename": session.filename, "width": width, "height": height,
            "pages": session.pages, "model": model, "chroma": engine.model(model).chroma}


def _hints(texts: list[str] | None, session: Session) -> tuple[Hint, ...]:
    """The ``hint`` query values as hints inside the kept image; a bad one is a 422 naming it."""
    hints = _counted([parse_hint(text) for text in texts or []])
    for hint in hints:
        hint.position(*session.size)
    return hints


def _render_session(request: Request, session: Session, model: str, size: int, chroma: float | None,
                    fmt: str, hints: tuple[Hint, ...]) -> bytes:
    settings, engine = request.app.state.settings, request.app.state.engine
    image = open_image(session.path, session.filename, settings.max_pixels)
    ab = session.prediction((model, size, hints), lambda: engine.predict(image, model, size, hints))
    rgb = engine.render(image, ab, model, size, chroma)
    with tempfile.TemporaryDirectory(dir=request.app.state.tmp) as folder:
        if fmt == "tiff" and session.pages > 1:  # the hints are the first page's; the others get none
            later = _later_pages(request, session.path, session.filename,
                                 _all_pages(session.pages, session.filename), model, size, chroma, ())
            return encode_pages(rgb, image, later, Path(folder))
        return encode(rgb, image, fmt, Path(folder))


@router.get("/uploads/{upload_id}/colorized", response_class=Response, dependencies=[Depends(admission)],
            responses=IMAGE_RESPONSE)
async def render_upload(
    request: Request, upload_id: str,
    model: Annotated[str | None, Query(description="Model name (default: the server's).")] = None,
    size: Annotated[int | None, Query(ge=MIN_SIZE, le=MAX_SIZE)] = None,
    chroma: Annotated[float | None, Query(ge=0, le=MAX_CHROMA, description="Saturation gain.")] = None,
    format: Annotated[Format | None, Query(description="Output format (default: the upload's, else png); tiff "
                                           "holds every page of a multi-page TIFF.")] = None,
    hint: Annotated[list[str] | None, Query(description="A user color X,Y,#RRGGBB in pixels (or percent) of "
                                            "the upload, as the CLI's --hint; repeatable. Without a model, "
                                            "hints pick the hint-aware one.")] = None,
) -> Response:
    """A kept upload colorized with these options; a new gain reuses the kept prediction, new hints re-predict."""
    session = request.app.state.sessions.get(upload_id)
    engine: Engine = request.app.state.engine
    hints = _hints(hint, session)
    name = engine.pick(model, bool(hints))
    fmt = output_format(format, session.path)
    data = await request.app.state.pool.run(_render_session, request, session, name,
                                            size or request.app.state.settings.size, chroma, fmt, hints)
    return _image_response(data, fmt, session.filename)


def _suggest(request: Request, session: Session, model: str, size: int, point: tuple[float, float],
             count: int) -> list[str]:
    settings, engine = request.app.state.settings, request.app.state.engine
    image = open_image(session.path, session.filename, settings.max_pixels)
    ab = session.prediction((model, size, ()), lambda: engine.predict(image, model, size))
    return engine.suggest(image, ab, model, size, point, count)


@router.get("/uploads/{upload_id}/suggestions", dependencies=[Depends(admission)])
async def suggest_colors(
    request: Request, upload_id: str,
    x: Annotated[float, Query(ge=0, description="Pixel column of the upload (0 = left).")],
    y: Annotated[float, Query(ge=0, description="Pixel row of the upload (0 = top).")],
    model: Annotated[str | None, Query(description="Model name (default: the server's).")] = None,
    size: Annotated[int | None, Query(ge=MIN_SIZE, le=MAX_SIZE)] = None,
    count: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS)] = 6,
) -> dict[str, Any]:
    """Colors to offer for a hint at (x, y), likeliest first: the model's automatic prediction there (gain 1),
    then its hue and the other hues it predicts nearby at stronger chroma, at the photo's lightness there."""
    session = request.app.state.sessions.get(upload_id)
    engine: Engine = request.app.state.engine
    name = engine.pick(model, False)
    colors = await request.app.state.pool.run(_suggest, request, session, name,
                                              size or request.app.state.settings.size, (x, y), count)
    return {"x": x, "y": y, "model": name, "colors": colors}


@router.delete("/uploads/{upload_id}", status_code=204, response_class=Response)
async def delete_upload(request: Request, upload_id: str) -> Response:
    """Forget a kept upload now (otherwise the oldest is dropped when the store is full)."""
    request.app.state.sessions.remove(upload_id)
    return Response(status_code=204)
