"""Long work in the background: submit a file, poll its progress, download the result.

A job kind says which uploads it takes and has a function ``run(src, dst, progress)`` that writes ``dst``
and reports progress in [0, 1]; still images are one kind, and video or animation colorizers plug in as
more kinds (the first kind that accepts a file runs it).
"""

import shutil
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from chromagen.errors import ChromagenError, WriteError
from chromagen.server.errors import stored_elsewhere

Progress = Callable[[float], None]
Runner = Callable[[Path, Path, Progress], None]
Status = Literal["queued", "running", "done", "failed"]


@dataclass(frozen=True)
class JobKind:
    """Which uploads a kind takes and how it turns one into its output."""

    name: str
    takes: str  # for people: what files this kind accepts
    accepts: Callable[[Path], bool]  # the upload on disk, named with the client's extension
    output_suffix: Callable[[Path], str]  # src -> suffix of the result file
    run: Runner


@dataclass
class Job:
    id: str
    kind: str
    filename: str
    folder: Path
    src: Path
    status: Status = "queued"
    progress: float = 0.0
    error: str | None = None
    output: Path | None = None
    created: float = field(default_factory=time.time)

    def public(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "filename": self.filename, "status": self.status,
                "progress": round(self.progress, 4), "error": self.error,
                "download": f"/api/v1/jobs/{self.id}/result" if self.status == "done" else None}


class JobStore:
    """Jobs by id; finished ones beyond ``limit`` are forgotten oldest first, with their files."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, kind: str, src: Path, filename: str) -> Job:
        """Move the uploaded file into the job's own folder."""
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir(parents=True)
        job = Job(job_id, kind, filename, folder, folder / f"input{src.suffix}")
        shutil.move(src, job.src)
        with self._lock:
            self._jobs[job_id] = job
            self._evict()
        return job

    def _evict(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in ("done", "failed")]
        for job in finished[: max(0, len(finished) - self.limit)]:
            del self._jobs[job.id]
            shutil.rmtree(job.folder, ignore_errors=True)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def discard(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)


def execute(job: Job, kind: JobKind) -> None:
    """Run one job on a worker thread, recording progress and the outcome (never raises)."""
    job.status = "running"

    def progress(fraction: float) -> None:
        job.progress = min(1.0, max(0.0, fraction))

    output = job.folder / f"output{kind.output_suffix(job.src)}"
    try:
        kind.run(job.src, output, progress)
        job.output, job.progress, job.status = output, 1.0, "done"
    except WriteError as exc:
        job.error, job.status = stored_elsewhere(exc), "failed"
    except ChromagenError as exc:
        job.error, job.status = str(exc).replace(str(job.src), job.filename), "failed"
    except Exception as exc:  # a bug in one job must not take the worker down
        traceback.print_exc()
        job.error, job.status = f"internal error ({type(exc).__name__}); see the server log", "failed"
    finally:
        job.src.unlink(missing_ok=True)
