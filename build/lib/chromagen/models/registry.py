"""One registry: every network (generators and discriminators) is built by name from here."""

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from chromagen.errors import ChromagenError


@dataclass(frozen=True)
class ModelEntry:
    """A registered builder plus what a listing needs to say about it."""

    name: str
    builder: Callable[..., nn.Module]
    kind: str  # "generator" (L -> ab) or "discriminator" ((L, ab) -> realness map)
    summary: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, kind: str = "generator") -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: make ``builder(**kwargs) -> nn.Module`` buildable as ``create_model(name)``."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        summary = (builder.__doc__ or "").strip().splitlines()[0] if builder.__doc__ else ""
        _REGISTRY[name] = ModelEntry(name, builder, kind, summary)
        return builder

    return wrap


def create_model(name: str, pretrained: bool | None = None, **kwargs: object) -> nn.Module:
    """Build a registered model; unknown names raise a ChromagenError listing the known ones.

    ``pretrained`` (when not None) overrides the builder's own flag, for builders that have one:
    listing or loading a trained checkpoint never needs the ImageNet weights.
    """
    try:
        entry = _REGISTRY[name]
    except KeyError:
        raise ChromagenError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}") from None
    if pretrained is not None and "pretrained" in inspect.signature(entry.builder).parameters:
        kwargs["pretrained"] = pretrained
    return entry.builder(**kwargs)


def predict_ab(model: nn.Module, l_norm: Tensor) -> Tensor:
    """Normalized ab from any generator: classification models decode their logits, the rest return ab."""
    return getattr(model, "predict_ab", model)(l_norm)


def list_models(kind: str | None = None) -> list[ModelEntry]:
    """Registered models, sorted by name, optionally only one kind."""
    return [e for _, e in sorted(_REGISTRY.items()) if kind is None or e.kind == kind]
