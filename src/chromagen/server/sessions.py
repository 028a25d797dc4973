"""Page uploads kept for a while, with their predicted colors, so sliders never re-upload or re-predict.

Each upload keeps its automatic prediction per (model, size), and only its latest hinted one: hints
change with every click on the page, the automatic prediction serves color suggestions and resets.

Each upload lives in its own folder under the server's temporary folder; the oldest is deleted when the
store is full, and everything goes when the server stops.
"""

import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chromagen.hints import Hint
from chromagen.server.errors import ApiError
from chromagen.server.uploads import Upload

PredictionKey = tuple[str, int, tuple[Hint, ...]]  # (model, size, hints)


@dataclass
class Session:
    """One uploaded image and the ab predicted for it by each (model, size, hints) asked so far."""

    id: str
    path: Path
    filename: str
    size: tuple[int, int] = (0, 0)  # (width, height)
    pages: int = 1  # a multi-page TIFF's pages; the page shows and hints the first
    ab: dict[PredictionKey, np.ndarray] = field(default_factory=dict)

    def prediction(self, key: PredictionKey, predict: Callable[[], np.ndarray]) -> np.ndarray:
        """The kept ab for ``key``, predicted on first use; a new hinted one replaces the previous hinted one."""
        if key not in self.ab:
            if key[2]:
                self.ab = {k: ab for k, ab in self.ab.items() if not k[2]}
            self.ab[key] = predict()
        return self.ab[key]


class SessionStore:
    """At most ``limit`` sessions, least recently used evicted first."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, upload: Upload) -> Session:
        """Take over the uploaded file (moved out of the request's temporary folder)."""
        session_id = uuid.uuid4().hex
        folder = self.root / session_id
        folder.mkdir(parents=True)
        path = folder / upload.path.name
        shutil.move(upload.path, path)
        session = Session(session_id, path, upload.filename)
        with self._lock:
            self._sessions[session_id] = session
            while len(self._sessions) > self.limit:
                _, old = self._sessions.popitem(last=False)
                shutil.rmtree(old.path.parent, ignore_errors=True)
        return session

    def get(self, session_id: str) -> Session:
        with self._lock:
            if session_id not in self._sessions:
                raise ApiError(404, f"no upload {session_id!r} (expired or never made); upload the image again")
            self._sessions.move_to_end(session_id)
            return self._sessions[session_id]

    def remove(self, session_id: str) -> None:
        session = self.get(session_id)
        with self._lock:
            self._sessions.pop(session_id, None)
        shutil.rmtree(session.path.parent, ignore_errors=True)
