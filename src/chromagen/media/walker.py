"""The one walker: what the paths a user passes mean, for every command (colorize, evaluate, training data).

Files and folders, folders searched recursively, in sorted path order. Our own output folder (and anything inside
it) is never read back as input. Whatever cannot be read (a folder without permission, a pipe, a missing
path) becomes one line in ``problems`` and the walk goes on. Items are classified by extension into kinds;
a media module adds its kind with its extension set in ``KINDS`` and the commands dispatch on ``Item.kind``.
"""

import os
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chromagen.media.image import IMAGE_EXTENSIONS, UNREAD_EXTENSIONS
from chromagen.media.video import VIDEO_EXTENSIONS

IMAGE, VIDEO = "image", "video"  # animated GIF/PNG/WebP are images by extension; colorize checks the content
# kind -> the extensions (lower case, with the dot) that mean it
KINDS: dict[str, frozenset[str]] = {IMAGE: IMAGE_EXTENSIONS, VIDEO: VIDEO_EXTENSIONS}


def kind_of(path: Path, kinds: Mapping[str, frozenset[str]] | None = None) -> str | None:
    """The kind an extension means, or None when no kind claims it."""
    suffix = path.suffix.lower()
    return next((kind for kind, exts in (kinds or KINDS).items() if suffix in exts), None)


def output_name(source: Path, candidate: Path, sources: Collection[Path], taken: Collection[Path]) -> Path:
    """``candidate``, the output of ``source``; but for an input written in another format (film.avi as .mkv,
    scan.pgm as .png) whose output name is a sibling input's own (film.mkv, scan.png) or already ``taken``, a
    name that keeps its extension: film-avi.mkv, scan-pgm.png. ``sources``: every input, resolved.

    The sibling test makes the name the same whichever of the two comes first, so a rerun finds its outputs.
    """
    if candidate.suffix.lower() == source.suffix.lower():
        return candidate
    if candidate in taken or source.with_name(candidate.name).resolve() in sources:
        return candidate.with_name(f"{source.stem}-{source.suffix[1:].lower()}{candidate.suffix}")
    return candidate


@dataclass(frozen=True)
class Item:
    """One input file: where it is, its path relative to the input it was found under, and its kind."""

    path: Path
    rel: Path
    kind: str


@dataclass
class Walk:
    """The items found and one line per path that could not be read (the caller decides how loud)."""

    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # photos found in folders in formats we cannot read


def _unread(path: Path) -> str | None:
    """The line for a photo in a format we cannot read (HEIC, camera raw), else None."""
    name = UNREAD_EXTENSIONS.get(path.suffix.lower())
    return f"{path}: {name} photos are not read; convert to TIFF, PNG or JPEG first" if name else None


def _inside(path: Path, folders: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == f or f in resolved.parents for f in folders)


def _scan(folder: Path, root: Path, kinds: Mapping[str, frozenset[str]], exclude: Sequence[Path],
          seen: set[tuple[int | str, ...]], walk: Walk) -> None:
    """Depth-first; symlinked folders are followed once (no loops)."""
    try:
        st = folder.stat()
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        with os.scandir(folder) as entries:
            names = [entry.name for entry in entries]
    except OSError as exc:
        walk.problems.append(f"{folder}: cannot read folder ({exc.strerror or exc}); skipped")
        return
    for name in names:
        path = folder / name
        try:
            st = path.stat()
        except OSError as exc:  # dangling symlink, permission on a parent, vanished meanwhile
            if kind_of(path, kinds):
                walk.problems.append(f"{path}: cannot read ({exc.strerror or exc}); skipped")
            continue
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            if not _inside(path, exclude):
                _scan(path, root, kinds, exclude, seen, walk)
            continue
        kind = kind_of(path, kinds)
        if kind is None:
            if IMAGE in kinds and (unread := _unread(path)):
                walk.unread.append(unread)
            continue
        if not stat.S_ISREG(mode):
            walk.problems.append(f"{path}: not a regular file (a pipe, socket or device); skipped")
            continue
        if _first(st, path, seen):
            walk.items.append(Item(path, path.relative_to(root), kind))


def _first(st: os.stat_result, path: Path, seen: set[tuple[int | str, ...]]) -> bool:
    """True the first time the walk meets this file under this name: a photo named twice, or named and inside a
    named folder, is one item (two would collide on one output). Hard links under other names stay items."""
    key = (st.st_dev, st.st_ino, path.name)
    if key in seen:
        return False
    seen.add(key)
    return True


def walk(inputs: Iterable[Path | str], kinds: Mapping[str, frozenset[str]] | None = None,
         exclude: Sequence[Path] = (), default_kind: str | None = IMAGE) -> Walk:
    """Expand files and folders into items of the given kinds (default: every registered kind).

    A file named explicitly is taken whatever its extension (as ``default_kind``, so the loader can say
    what is wrong with it); None makes such a file a problem instead. ``exclude``: folders never read
    (our own output).
    """
    kinds = kinds or KINDS
    excluded = [Path(p).resolve() for p in exclude]
    result = Walk()
    seen: set[tuple[int | str, ...]] = set()  # folders (device, inode) and files (device, inode, name) met
    for raw in inputs:
        path = Path(raw)
        try:
            st = path.stat()
            mode = st.st_mode
        except FileNotFoundError:
            result.problems.append(f"{path}: no such file or folder")
            continue
        except OSError as exc:
            result.problems.append(f"{path}: cannot read ({exc.strerror or exc})")
            continue
        if stat.S_ISDIR(mode):
            start, said, unread = len(result.items), len(result.problems), len(result.unread)
            _scan(path, path, kinds, excluded, seen, result)
            result.items[start:] = sorted(result.items[start:], key=lambda item: str(item.path))  # as sorted(rglob)
            result.problems[said:] = sorted(result.problems[said:])  # each line starts with its path
            result.unread[unread:] = sorted(result.unread[unread:])
        elif not stat.S_ISREG(mode):
            result.problems.append(f"{path}: not a regular file (a pipe, socket or device); skipped")
        elif IMAGE in kinds and (unread := _unread(path)):
            result.problems.append(unread)
        elif (kind := kind_of(path, kinds) or default_kind) is not None:
            if _first(st, path, seen):
                result.items.append(Item(path, Path(path.name), kind))
        else:
            result.problems.append(f"{path}: not a {' or '.join(sorted(kinds))} file")
    return result
