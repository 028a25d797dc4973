"""The web pages (static files from the package), health, the model list and the example gallery."""

from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from chromagen import __version__
from chromagen.server.deps import require_token

STATIC = files("chromagen.server") / "static"
router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(str(STATIC / "index.html"))


@router.get("/study", include_in_schema=False)
async def study_page() -> FileResponse:
    return FileResponse(str(STATIC / "study.html"))


@router.get("/healthz", tags=["meta"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: the version and the default model (no auth, no inference)."""
    return {"status": "ok", "version": __version__, "model": request.app.state.engine.default}


@router.get("/api/v1/models", tags=["meta"], dependencies=[Depends(require_token)])
async def models(request: Request) -> list[dict[str, Any]]:
    """The models this server offers (the default first), with descriptions and measured figures."""
    return [info.public() for info in request.app.state.engine.catalogue.values()]


@router.get("/api/v1/examples", tags=["meta"])
async def examples() -> list[dict[str, str]]:
    """The bundled example photos the page offers as a gallery."""
    names = sorted(p.name for p in (STATIC / "examples").iterdir() if p.name.endswith(".jpg"))
    return [{"name": name.rsplit(".", 1)[0], "url": f"/static/examples/{name}"} for name in names]
