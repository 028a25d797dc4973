"""Shared by the server tests: generated photos and a real uvicorn server on loopback in a thread."""

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from fastapi import FastAPI
from PIL import Image

from tests.conftest import smooth_color_image


def jpeg_bytes(height: int = 48, width: int = 64, seed: int = 0, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(smooth_color_image(height, width, seed)).save(buffer, format="JPEG", quality=90, **save)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(decoded(data).convert("RGB"), dtype=np.int16)


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 (a free port); yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
