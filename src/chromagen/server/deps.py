"""Dependencies shared by the routers: token auth and admission into the worker pool."""

import secrets
from collections.abc import AsyncIterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chromagen.server.errors import ApiError
from chromagen.server.uploads import drain

_bearer = HTTPBearer(auto_error=False, description="Required when the server was started with --token.")


async def require_token(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """With ``--token``, every API call needs ``Authorization: Bearer <token>``."""
    expected = request.app.state.settings.token
    if expected is None:
        return
    if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise ApiError(401, "missing or wrong token (send 'Authorization: Bearer <token>')",
                       {"WWW-Authenticate": "Bearer"})


async def take_slot(request: Request) -> None:
    """A slot in the worker pool (the caller releases it), or 503 + Retry-After when all are taken."""
    pool = request.app.state.pool
    if not pool.try_admit():
        await drain(request, request.app.state.settings.max_upload_bytes)
        raise ApiError(503, "server busy: every worker and queue slot is taken; retry later",
                       {"Retry-After": str(pool.retry_after())})


async def admission(request: Request) -> AsyncIterator[None]:
    """A slot in the worker pool for the whole request, or 503 + Retry-After when all are taken."""
    await take_slot(request)
    try:
        yield
    finally:
        request.app.state.pool.release()
