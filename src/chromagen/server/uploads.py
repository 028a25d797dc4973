"""Receiving an uploaded image: streamed to a temporary file with a size cap, removed when the request ends.

The cap is checked twice: on the declared Content-Length before any byte is read (a 30 MB upload gets its
413 at once), and on the bytes actually received (chunked or lying clients), stopping the read there.
"""

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from chromagen.errors import ChromagenError, writing
from chromagen.media.image import LoadedImage, load_image
from chromagen.server.errors import ApiError

FIELD = "image"  # the multipart field that carries an image (jobs use "file")
FORM_SLACK = 64 * 1024  # multipart boundaries, headers and the small text fields around the file


@dataclass
class Upload:
    """An uploaded file on disk plus the form's text fields."""

    path: Path
    filename: str
    fields: dict[str, str]


def form_schema(field: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAPI body of a route that parses its multipart stream itself (so /docs can still send files)."""
    properties = {field: {"type": "string", "format": "binary"}, **(extra or {})}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": [field], "properties": properties}}}}}


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"upload larger than the server's limit of {limit / 2**20:g} MB")


def check_content_length(request: Request) -> None:
    """Dependency: refuse a body declared too large before reading any of it."""
    limit = request.app.state.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_SLACK:
        raise too_large(limit)


async def _capped(request: Request, limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit + FORM_SLACK:
            raise too_large(limit)
        yield chunk


async def drain(request: Request, limit: int) -> None:
    """Read and drop a body we refuse, so the client sees our answer instead of a reset connection."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit + FORM_SLACK:
            return


def _safe_suffix(filename: str) -> str:
    """The client's extension if it is a plain one (decoders sniff content; the suffix only names outputs)."""
    suffix = Path(filename).suffix.lower()
    return suffix if 1 < len(suffix) <= 6 and suffix[1:].isalnum() else ""


async def _parse(request: Request, limit: int, name: str) -> tuple[UploadFile, dict[str, str]]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, f"send multipart/form-data with the file in a {name!r} field")
    parser = MultiPartParser(request.headers, _capped(request, limit), max_files=1, max_fields=16,
                             max_part_size=FORM_SLACK)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(422, f"malformed multipart body: {exc}") from exc
    file = form.get(name)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not isinstance(file, UploadFile):
        await form.close()
        raise ApiError(422, f"missing the {name!r} file field")
    return file, fields


def _copy(file: UploadFile, path: Path) -> None:
    with writing(path), path.open("wb") as out:
        shutil.copyfileobj(file.file, out)


@asynccontextmanager
async def received(request: Request, name: str) -> AsyncIterator[Upload]:
    """The file field ``name`` as a file in a private temporary folder, deleted on exit."""
    limit = request.app.state.settings.max_upload_bytes
    file, fields = await _parse(request, limit, name)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=request.app.state.tmp))
    try:
        filename = Path(file.filename or "upload").name
        path = folder / f"upload{_safe_suffix(filename)}"
        await run_in_threadpool(_copy, file, path)
        await file.close()
        if path.stat().st_size > limit:
            raise too_large(limit)
        if path.stat().st_size == 0:
            raise ApiError(422, f"{filename}: empty file (0 bytes)")
        yield Upload(path, filename, fields)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_pixels(path: Path, filename: str, max_pixels: int, page: int = 0) -> None:
    """Refuse images whose header (of ``page``, for a multi-page TIFF) announces more pixels than allowed,
    before anything is decoded.

    Only the header is read; files Pillow cannot identify pass through so that ``load_image`` names the problem.
    """
    try:
        with Image.open(path) as im:
            im.seek(page)
            width, height = im.size
    except Image.DecompressionBombError:
        raise ApiError(413, f"{filename}: too many pixels (limit {max_pixels:,})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return
    if width * height > max_pixels:
        raise ApiError(413, f"{filename}: {width}x{height} is {width * height:,} pixels; the limit is {max_pixels:,}")


def open_image(path: Path, filename: str, max_pixels: int, page: int = 0) -> LoadedImage:
    """Decode (``page`` of a multi-page TIFF) with the media layer; its failures become 415 and name the client's
    file, not our temp path."""
    check_pixels(path, filename, max_pixels, page)
    try:
        return load_image(path, page)
    except ChromagenError as exc:
        raise ApiError(415, str(exc).replace(str(path), filename)) from exc


async def receive_upload(request: Request) -> AsyncIterator[Upload]:
    """Dependency: the ``image`` upload, deleted once the request is answered."""
    async with received(request, FIELD) as upload:
        yield upload
