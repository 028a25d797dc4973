"""chromagen: colorize black-and-white photographs with deep learning, offline."""

from importlib.metadata import PackageNotFoundError, version

from chromagen.errors import ChromagenError

try:
    __version__ = version("chromagen")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["ChromagenError", "__version__"]
