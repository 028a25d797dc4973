"""HTTP failures as JSON ``{"error": message}``: bad input is a 4xx that says why, never a 500; the server's
own disk refusing a file is a 507 (full) or 500."""

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chromagen.errors import ChromagenError, WriteError


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


def stored_elsewhere(exc: WriteError) -> str:
    """What a client is told when the server's own disk refuses a file (its paths stay private)."""
    return f"the server could not store a file ({exc.cause.strerror or exc.cause}); try again later"


def _chromagen_error(_: Request, exc: ChromagenError) -> JSONResponse:
    """A ChromagenError escaping a route is a bad request the pipeline recognized (bad option, bad file);
    a WriteError is the server's own disk failing it: 507 when full, else 500."""
    if isinstance(exc, WriteError):
        return JSONResponse({"error": stored_elsewhere(exc)}, status_code=507 if exc.full else 500)
    return JSONResponse({"error": str(exc)}, status_code=422)


def _internal_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)


def install_handlers(app: FastAPI) -> None:
    """Every error leaves the app as JSON with an ``error`` field."""
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ChromagenError, _chromagen_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
