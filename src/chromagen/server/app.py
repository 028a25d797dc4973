"""The app factory: state built from ``Settings``, routers per concern, static page and offline API docs."""

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from chromagen import __version__
from chromagen.media import quiet_decoders
from chromagen.server.catalogue import load_catalogue
from chromagen.server.engine import Engine
from chromagen.server.errors import install_handlers
from chromagen.server.jobs import JobStore
from chromagen.server.pool import WorkerPool
from chromagen.server.routes import images, jobs, pages, study
from chromagen.server.sessions import SessionStore
from chromagen.server.settings import Settings
from chromagen.server.study import StudyStore, study_photos


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI from the swagger-ui-bundle package instead of a CDN."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="chromagen API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")


def create_app(settings: Settings = Settings()) -> FastAPI:
    """Load the catalogue (fails fast on a bad ``--model``), open the study database, wire the routers.

    Run it under a lifespan-aware server (uvicorn, ``with TestClient(app)``): requests need what ``lifespan`` builds.
    """
    quiet_decoders()  # requests decode on worker threads
    catalogue = load_catalogue(settings.model, settings.device)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Worker threads and the temporary folder exist only while serving; stopping removes both."""
        tmp = Path(tempfile.mkdtemp(prefix="chromagen-serve-"))
        app.state.tmp = tmp
        app.state.pool = WorkerPool(settings.workers, settings.capacity)
        app.state.sessions = SessionStore(tmp / "uploads", settings.sessions)
        app.state.jobs = JobStore(tmp / "jobs", settings.jobs)
        try:
            yield
        finally:
            app.state.pool.shutdown()
            app.state.study.close()
            shutil.rmtree(tmp, ignore_errors=True)

    app = FastAPI(title="chromagen", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Colorize black-and-white photos. Errors are JSON `{\"error\": ...}`; with "
                              "`--token`, send `Authorization: Bearer <token>`.")
    engine = Engine(catalogue, settings.device)
    app.state.settings = settings
    app.state.engine = engine
    app.state.job_kinds = jobs.job_kinds(engine, settings.size)
    app.state.study = StudyStore(settings.study_db)
    app.state.study_photos = study_photos(settings.study_dir) if settings.study_dir else []
    install_handlers(app)
    for module in (pages, images, study, jobs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("chromagen.server", "static")]), name="static")
    _offline_docs(app)
    return app
