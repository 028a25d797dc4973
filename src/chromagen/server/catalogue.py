"""The models a server offers: the bundled weights catalogue plus the operator's ``--model`` file.

Names, architectures, descriptions and figures come from ``chromagen.catalog``; the calibrated
saturation gain (the page's initial slider value) and whether the model reads color hints are what
``Colorizer.from_pretrained`` finds in each file, so loading every offered model once at startup also
refuses a broken one before serving.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from chromagen.catalog import bundled
from chromagen.inference import Colorizer


@dataclass(frozen=True)
class ModelInfo:
    """What the page and ``GET /api/v1/models`` show about one model, and what ``from_pretrained`` takes."""

    name: str
    source: str  # bundled name or file path, as Colorizer.from_pretrained takes it
    chroma: float  # the calibrated saturation gain
    hints: bool = False  # reads user color hints (the page offers only such models while hints exist)
    architecture: str = ""
    description: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The JSON view (a file's path stays on the server)."""
        return {"name": self.name, "architecture": self.architecture, "chroma": self.chroma,
                "hints": self.hints, "description": self.description, "figures": self.figures}


@lru_cache(maxsize=32)
def _probe(source: str, device: str) -> tuple[float, bool]:
    """(calibrated gain, hint-aware), loaded once per process (apps built again, as tests do, reuse it)."""
    colorizer = Colorizer.from_pretrained(source, device=device)
    return colorizer.chroma, colorizer.hint_aware


def load_catalogue(default: str, device: str) -> dict[str, ModelInfo]:
    """Name -> model, the server's default first; a file outside the catalogue is offered under its stem."""
    entries = bundled()
    models: dict[str, ModelInfo] = {}
    if default not in {entry.name for entry in entries}:
        name = Path(default).stem
        models[name] = ModelInfo(name, default, *_probe(default, device),
                                 description=f"weights file {Path(default).name}")
    for entry in sorted(entries, key=lambda e: e.name != default):
        models[entry.name] = ModelInfo(entry.name, entry.name, *_probe(entry.name, device), entry.architecture,
                                       entry.description, {"val": entry.val} if entry.val else {})
    return models
