"""Where training photos come from: webdataset-style tar shards and plain folders, as one flat index.

Tar members are indexed once (offset and size) and read by seeking, so a map-style dataset can shuffle
and shard across DDP ranks without unpacking anything.
"""

import tarfile
from dataclasses import dataclass
from pathlib import Path

from chromagen.errors import ChromagenError
from chromagen.media.image import IMAGE_EXTENSIONS, is_image_file
from chromagen.media.walker import IMAGE, walk

SHARD = "shard"
_TRAINING_KINDS = {IMAGE: IMAGE_EXTENSIONS, SHARD: frozenset({".tar"})}


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
    """Expand files, folders (recursive) and tar shards into a sorted image index.

    Training must not silently lose data: any path the walker cannot read stops here with its line.
    """
    found = walk(paths, kinds=_TRAINING_KINDS, default_kind=None)
    if found.problems:
        raise ChromagenError(found.problems[0])
    refs: list[ImageRef] = []
    for item in found.items:
        refs.extend(index_tar(item.path) if item.kind == SHARD else [ImageRef(item.path, str(item.path))])
    if not refs:
        raise ChromagenError(f"no images found in {', '.join(map(str, paths))}")
    return refs
