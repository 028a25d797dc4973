"""The one exception type users see: every expected failure carries a human-readable message."""

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})  # the storage, not the file, is the problem
# ...and where the output's place itself will not do: read-only, forbidden, a folder in the way, a name too long
_REFUSED = _FULL | {errno.EROFS, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG}


class ChromagenError(Exception):
    """A user-facing failure (bad file, bad option, missing model). The CLI prints its message only."""


class UsageError(ChromagenError):
    """The command itself cannot run as asked (bad option, unusable output folder): exit code 2, not 1."""


class WriteError(ChromagenError):
    """An output the machine would not take (disk full, over quota, read-only or forbidden folder): the
    input was fine, so a server answers 507 or 500 rather than blaming the request."""

    def __init__(self, path: Path, cause: OSError, note: str = "") -> None:
        super().__init__(f"{path}: cannot write ({cause.strerror or cause}){'; ' + note if note else ''}")
        self.path, self.cause, self.note = path, cause, note
        self.full = cause.errno in _FULL


@contextmanager
def writing(path: Path, note: str = "") -> Iterator[None]:
    """Turn the operating system's refusal to store ``path`` (or its temporary files) into a ``WriteError``
    naming it; ``note`` tells the user what was kept (added to an inner ``writing``'s error too)."""
    try:
        yield
    except WriteError as exc:
        if not note or exc.note:
            raise
        raise WriteError(exc.path, exc.cause, note) from exc.cause
    except OSError as exc:
        if exc.errno not in _REFUSED:
            raise
        raise WriteError(path, exc, note) from exc
