"""Writing a file so that nobody ever finds half of it: a temporary file beside the target, renamed onto it.

Every writer of an output (images, pages, animations, films, exported graphs, a film's checkpoints) goes
through ``atomic_path``, so a crash, a signal or a full disk leaves the old file or none, never a part.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chromagen.errors import writing


def _umask() -> int:
    """The process umask (reading it requires setting it, so restore at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: Path, suffix: str = ".part") -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it with the usual file mode if the block completes and
    removed otherwise; the disk's refusals become a ``WriteError`` naming ``target``.

    ``suffix``: the temporary name's extension, for writers that pick their format by it (a film's container).
    The prefix is short and fixed: the temporary name must fit 255 bytes even when the final name takes 250.
    """
    with writing(target):
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".chromagen-", suffix=suffix)
        os.close(fd)
        try:
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
