"""What an operator can set on ``chromagen serve``, in one immutable object the app is built from."""

from dataclasses import dataclass
from pathlib import Path

from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE


@dataclass(frozen=True)
class Settings:
    """Limits and choices of one server; every route reads them, none changes them."""

    model: str = DEFAULT_MODEL  # bundled name or weights file; listed first on the page
    device: str = "auto"
    size: int = DEFAULT_SIZE
    max_upload_mb: float = 25.0
    max_pixels: int = 50_000_000  # decoded size guard: a small PNG can expand to gigabytes
    token: str | None = None
    workers: int = 1  # concurrent inferences (each uses every core through torch/onnxruntime threads)
    queue: int = 4  # requests admitted beyond the running ones before answering 503
    study_dir: Path | None = None
    study_db: Path = Path("chromagen-study.sqlite")
    sessions: int = 32  # page uploads whose predicted colors stay cached for the sliders
    jobs: int = 16  # finished jobs kept for download

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def capacity(self) -> int:
        """Requests in flight at once: running plus waiting."""
        return self.workers + self.queue
