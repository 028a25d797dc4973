"""HTTP failures as JSON ``{"error": message}``: bad input is a 4xx that says why, never a 500."""

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chromagen.errors import ChromagenError


class ApiError(HTTPException):
    """An HTTP status plus the one human-readable line the client shows."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)


def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's list of problems, flattened to one line ("query.chroma: ...")."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return JSONResponse({"error": "; ".join(parts) or "invalid request"}, status_code=422)


def _chromagen_error(_: Request, exc: ChromagenError) -> JSONResponse:
    """A ChromagenError escaping a route is a bad request the pipeline recognized (bad option, bad file)."""
    return JSONResponse({"error": str(exc)}, status_code=422)


def _internal_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)


def install_handlers(app: FastAPI) -> None:
    """Every error leaves the app as JSON with an ``error`` field."""
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ChromagenError, _chromagen_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
