"""chromagen: colorize black-and-white photographs with deep learning, offline.

``from chromagen import Colorizer, load_image, save_image`` works without importing the network stack
until a name is first used, so ``chromagen --help`` stays instant.
"""

from importlib import import_module
from typing import Any

from chromagen.errors import ChromagenError

# Public name -> module that defines it, imported on first access (PEP 562).
_LAZY = {
    "Colorizer": "chromagen.inference",
    "LoadedImage": "chromagen.media.image",
    "load_image": "chromagen.media.image",
    "save_image": "chromagen.media.image",
}

__all__ = ["ChromagenError", "__version__", *_LAZY]


def _version() -> str:
    """The installed version (importlib.metadata costs ~0.1 s, so only when asked)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chromagen")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _version()
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chromagen' has no attribute {name!r}")
