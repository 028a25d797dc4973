"""Where training photos come from: webdataset-style tar shards and plain folders, as one flat index.

Tar members are indexed once (offset and size) and read by seeking, so a map-style dataset can shuffle
and shard across DDP ranks without unpacking anything.
"""

import tarfile
from dataclasses import dataclass
from pathlib import Path

from chromagen.errors import ChromagenError
from chromagen.media.image import is_image_file


@dataclass(frozen=True)
class ImageRef:
    """One image: a plain file (``offset`` is None) or a byte range inside a tar shard."""

    path: Path
    name: str
    offset: int | None = None
    size: int | None = None

    def read_bytes(self) -> bytes:
        """The encoded image file's bytes."""
        if self.offset is None:
            return self.path.read_bytes()
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            return fh.read(self.size)


def index_tar(path: Path) -> list[ImageRef]:
    """Image members of one tar shard, in archive order."""
    try:
        with tarfile.open(path) as tar:
            return [
                ImageRef(path, m.name, m.offset_data, m.size)
                for m in tar
                if m.isfile() and is_image_file(Path(m.name))
            ]
    except (tarfile.TarError, OSError) as exc:
        raise ChromagenError(f"{path}: cannot read tar shard ({exc})") from exc


def find_images(paths: list[str | Path]) -> list[ImageRef]:
    """Expand files, folders (recursive) and tar shards into a sorted, de-duplicated image index."""
    refs: list[ImageRef] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix == ".tar":
                    refs.extend(index_tar(child))
                elif child.is_file() and is_image_file(child):
                    refs.append(ImageRef(child, str(child)))
        elif path.is_file() and path.suffix == ".tar":
            refs.extend(index_tar(path))
        elif path.is_file() and is_image_file(path):
            refs.append(ImageRef(path, str(path)))
        else:
            raise ChromagenError(f"{path}: not an image, folder or .tar shard")
    if not refs:
        raise ChromagenError(f"no images found in {', '.join(map(str, paths))}")
    return refs
