"""The models a server offers: every bundled model plus the operator's ``--model`` file, with their cards.

A bundled weights file may sit beside a ``<name>.json`` card (description, measured figures); the
architecture and calibrated saturation gain come from the weights file's own metadata.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromagen.errors import ChromagenError
from chromagen.inference import resolve_model_path, stored_chroma
from chromagen.models.weights import bundled_names


@dataclass(frozen=True)
class ModelInfo:
    """What the page and ``GET /api/v1/models`` show about one model, and what ``from_pretrained`` takes."""

    name: str
    source: str  # bundled name or file path, as Colorizer.from_pretrained takes it
    architecture: str
    chroma: float  # the calibrated saturation gain: the page's initial slider value
    description: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The JSON view (the source path stays on the server)."""
        return {"name": self.name, "architecture": self.architecture, "chroma": self.chroma,
                "description": self.description, "figures": self.figures}


def _metadata(path: Path) -> dict[str, str]:
    """Header metadata of a safetensors file, without loading its tensors (other formats have none)."""
    if path.suffix != ".safetensors":
        return {}
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as fh:
            return fh.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise ChromagenError(f"{path}: cannot read model metadata ({exc})") from exc


def _card(path: Path) -> dict[str, Any]:
    card = path.with_suffix(".json")
    if not card.is_file():
        return {}
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChromagenError(f"{card}: unreadable model card ({exc})") from exc


def model_info(source: str, name: str) -> ModelInfo:
    path = resolve_model_path(source)
    meta, card = _metadata(path), _card(path)
    figures = card.get("figures", {})
    if figures and "figures_protocol" in card:
        figures = {"protocol": card["figures_protocol"], **figures}
    return ModelInfo(name=name, source=source, architecture=meta.get("model", "unknown"),
                     chroma=stored_chroma(meta, path), description=card.get("description", ""), figures=figures)


def load_catalogue(default: str) -> dict[str, ModelInfo]:
    """Name -> model, the server's default first; a file is offered under its stem."""
    name = default if default in bundled_names() else Path(default).stem
    models = {name: model_info(default, name)}
    for bundled in bundled_names():
        models.setdefault(bundled, model_info(bundled, bundled))
    return models
