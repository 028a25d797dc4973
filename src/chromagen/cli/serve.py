"""``chromagen serve``: the web page and REST API on one port (needs the ``[server]`` extra)."""

import socket
from pathlib import Path
from typing import Annotated, Optional

import typer

from chromagen.cli.app import USAGE_ERROR, _fail, app, line
from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE
from chromagen.errors import ChromagenError


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 exposes it to the network).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    model: Annotated[str, typer.Option(
        help="Default model: bundled name or weights file (.onnx, .safetensors, .ckpt).")]
    = DEFAULT_MODEL,
    size: Annotated[int, typer.Option(help="Default working resolution (longer side, px).")] = DEFAULT_SIZE,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    max_upload_mb: Annotated[float, typer.Option(help="Largest accepted upload, in MB (bigger: 413).")] = 25.0,
    max_pixels: Annotated[int, typer.Option(help="Largest accepted image, in pixels (bigger: 413).")] = 50_000_000,
    token: Annotated[Optional[str], typer.Option(envvar="CHROMAGEN_TOKEN", help=(
        "Require 'Authorization: Bearer TOKEN' on the API (page links: /#token=TOKEN)."))] = None,
    workers: Annotated[int, typer.Option(help="Images colorized at once.")] = 1,
    queue: Annotated[int, typer.Option(help="Requests waiting beyond the running ones before 503.")] = 4,
    study_dir: Annotated[Optional[Path], typer.Option(help="Folder of real color photos for the /study page.")]
    = None,
    study_db: Annotated[Path, typer.Option(help="SQLite file keeping the study's answers.")]
    = Path("chromagen-study.sqlite"),
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Serve the web page (/), the study (/study) and the REST API (/api/v1, docs at /docs)."""
    try:
        if workers < 1 or queue < 0 or max_upload_mb <= 0 or max_pixels < 1:
            raise ChromagenError("--workers and --max-pixels must be at least 1, --queue at least 0, "
                                 "--max-upload-mb above 0")
        if study_dir is not None and not study_dir.is_dir():
            raise ChromagenError(f"--study-dir {study_dir}: no such folder")
        try:
            import uvicorn

            from chromagen.server import Settings, create_app
        except ImportError as exc:
            raise ChromagenError(f"chromagen serve needs the server extra ({exc.name} is missing): "
                                 "pip install 'chromagen[server]'") from exc
        settings = Settings(model=model, device=device, size=size, max_upload_mb=max_upload_mb,
                            max_pixels=max_pixels, token=token, workers=workers, queue=queue,
                            study_dir=study_dir, study_db=study_db)
        application = create_app(settings)
        sock = _listening(host, port)
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    line(f"chromagen serving on http://{host}:{sock.getsockname()[1]}/ (API docs: /docs); Ctrl+C stops", stderr=True)
    uvicorn.Server(uvicorn.Config(application, log_level="info" if debug else "warning")).run(sockets=[sock])


def _listening(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything says it is serving: a port in use or an address this machine
    does not have is one line (uvicorn printed its own error after our "serving on" line)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise ChromagenError(f"--host {host}: not an address of this machine ({exc.strerror or exc})") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ChromagenError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
                             "or --host") from None
    return sock
