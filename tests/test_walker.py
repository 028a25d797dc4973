"""The one walker: sorted recursive expansion, kinds by extension, our output never read, problems reported."""

import os
from pathlib import Path

import pytest

from chromagen.media.walker import IMAGE, walk


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for rel in ("b.jpg", "a.PNG", "sub/c.tif", "sub/deeper/d.webp", "notes.txt", "sub/e.JPEG"):
        _touch(root / rel)
    return root


def test_folders_are_expanded_sorted_recursive_by_extension(tree: Path) -> None:
    found = walk([tree])
    assert [str(i.rel) for i in found.items] == ["a.PNG", "b.jpg", "sub/c.tif", "sub/deeper/d.webp", "sub/e.JPEG"]
    assert {i.kind for i in found.items} == {IMAGE} and not found.problems


def test_explicit_files_are_taken_whatever_their_extension(tree: Path) -> None:
    found = walk([tree / "notes.txt", tree / "b.jpg"])
    assert [(i.path.name, str(i.rel)) for i in found.items] == [("notes.txt", "notes.txt"), ("b.jpg", "b.jpg")]


def test_a_photo_named_twice_or_also_inside_a_named_folder_is_one_item(tree: Path) -> None:
    os.link(tree / "b.jpg", tree / "b-hardlink.jpg")  # the same file under another name stays its own item
    found = walk([tree / "b.jpg", tree / "b.jpg", tree, tree / "sub" / ".." / "b.jpg"])
    assert [str(i.rel) for i in found.items] == ["b.jpg", "a.PNG", "b-hardlink.jpg", "sub/c.tif",
                                                 "sub/deeper/d.webp", "sub/e.JPEG"]
    assert not found.problems


def test_photos_in_formats_we_cannot_read_are_named_not_skipped_silently(tree: Path) -> None:
    phone, raw = _touch(tree / "sub" / "phone.HEIC"), _touch(tree / "scan.dng")
    found = walk([tree, tree / "notes.txt"])
    assert not found.problems and found.unread == [
        f"{raw}: camera raw photos are not read; convert to TIFF, PNG or JPEG first",
        f"{phone}: HEIC/HEIF photos are not read; convert to TIFF, PNG or JPEG first"]
    named = walk([phone])  # asked for by name: a failure, not a skip
    assert named.problems == [found.unread[1]] and not named.items and not named.unread


def test_our_output_folder_inside_an_input_is_never_read(tree: Path) -> None:
    _touch(tree / "out" / "b.jpg")
    _touch(tree / "out" / "out" / "b.jpg")
    found = walk([tree], exclude=[tree / "out"])
    assert not any("out" in i.rel.parts for i in found.items)


def test_missing_fifo_and_unreadable_folder_are_reported_not_fatal(tree: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    os.mkfifo(tree / "pipe.jpg")
    locked = tree / "sub" / "deeper"
    real_scandir = os.scandir

    def scandir(path: os.PathLike) -> object:  # root ignores permissions, so deny like the kernel would
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = walk([tree / "missing.jpg", tree])
    assert [str(i.rel) for i in found.items] == ["a.PNG", "b.jpg", "sub/c.tif", "sub/e.JPEG"]
    assert found.problems == [f"{tree / 'missing.jpg'}: no such file or folder",
                              f"{tree / 'pipe.jpg'}: not a regular file (a pipe, socket or device); skipped",
                              f"{locked}: cannot read folder (Permission denied); skipped"]


def test_symlink_loops_end(tree: Path) -> None:
    (tree / "sub" / "loop").symlink_to(tree, target_is_directory=True)
    found = walk([tree])
    assert len(found.items) == 5


def test_kinds_and_explicit_file_policy() -> None:
    kinds = {"shard": frozenset({".tar"})}
    found = walk([Path(__file__)], kinds=kinds, default_kind=None)
    assert not found.items and "not a shard file" in found.problems[0]
