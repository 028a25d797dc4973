"""The catalogue of bundled weights (``weights/catalog.json``): what each name passed to ``--model`` means.

Plain JSON and no torch, so listing it is instant. Architectures live in the registry; a catalogue entry
names the architecture its file holds, the file, and the figures measured for it.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromagen.errors import ChromagenError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CATALOG = WEIGHTS_DIR / "catalog.json"


@dataclass(frozen=True)
class Bundled:
    """One bundled weights file and what is known about it."""

    name: str
    architecture: str
    file: str
    description: str = ""
    val: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields other interfaces add (backends, hints...)

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / self.file


def bundled() -> list[Bundled]:
    """Every catalogue entry, in catalogue order."""
    try:
        entries = json.loads(CATALOG.read_text())
    except (OSError, ValueError) as exc:
        raise ChromagenError(f"{CATALOG}: cannot read the weights catalogue ({exc})") from exc
    known = {"architecture", "file", "description", "val"}
    return [Bundled(name, e["architecture"], e["file"], e.get("description", ""), e.get("val"),
                    {k: v for k, v in e.items() if k not in known}) for name, e in entries.items()]


def bundled_entry(name: str) -> Bundled | None:
    """The catalogue entry called ``name``, or None."""
    return next((entry for entry in bundled() if entry.name == name), None)


def bundled_names() -> list[str]:
    """Names of the models shipped inside the package, in catalogue order."""
    return [entry.name for entry in bundled()]
