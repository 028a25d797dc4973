"""Colorize a photo archive too large for one machine on a Dask cluster, with the same Colorizer.

Each photo is one task. A worker loads the Colorizer once (per model, size and backend) and writes each
output atomically (``save_image``), so an output file that exists is a finished photo: a rerun skips it,
and a photo whose worker died mid-way is simply run again on another worker (Dask reschedules the tasks
of a lost worker). A bad photo is a result, not an exception: it comes back in ``ArchiveReport.failed``
with its one-line reason, and the rest of the archive goes on.

    from dask.distributed import Client
    from chromagen.distributed import colorize_archive

    client = Client("tcp://scheduler:8786")          # or Client(LocalCluster(n_workers=2))
    report = colorize_archive(client, "/archive/scans", "/archive/colorized")
    print(report.summary())                          # rerun the same call to resume

Needs ``pip install 'chromagen[dask]'``; the workers need chromagen installed (the base install will do).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE
from chromagen.errors import ChromagenError

if TYPE_CHECKING:
    from distributed import Client

    from chromagen.inference import Colorizer

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass
class ArchiveReport:
    """What a run did: photos colorized now, skipped as already done, and failures with their reason."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unread: list[str] = field(default_factory=list)  # one line per HEIC or raw photo: skipped, as the CLI does
    problems: list[str] = field(default_factory=list)  # one line per path the walk could not read: failed

    def summary(self) -> str:
        skipped, failed = len(self.skipped) + len(self.unread), len(self.failed) + len(self.problems)
        return f"{len(self.done)} colorized, {skipped} skipped, {failed} failed"


@lru_cache(maxsize=4)
def _worker_colorizer(model: str, size: int, backend: str, threads: int) -> "Colorizer":
    """One Colorizer per worker process and configuration, loaded on the worker's first photo."""
    from chromagen.inference import Colorizer

    return Colorizer.from_pretrained(model, device="cpu", size=size, backend=backend, threads=threads)


def colorize_file(source: str, target: str, model: str = DEFAULT_MODEL, size: int = DEFAULT_SIZE,
                  backend: str = "auto", threads: int = 1) -> tuple[str, str, str]:
    """(On a worker) colorize one photo -> (status, source, reason); never raises for a bad photo."""
    from chromagen.media.image import load_image, save_image

    if Path(target).exists():
        return SKIPPED, source, ""
    try:
        image = load_image(source)
        rgb = _worker_colorizer(model, size, backend, threads).colorize(image)
        save_image(rgb, target, alpha=image.alpha, meta=image.meta)
    except ChromagenError as exc:
        return FAILED, source, str(exc)
    except Exception as exc:  # a failure must come back as a report line, never vanish with the task
        return FAILED, source, f"{source}: internal error ({type(exc).__name__}: {exc})"
    return DONE, source, ""


def plan(sources: Sequence[Path], root: Path, output: Path) -> list[tuple[str, str]]:
    """(source, target) pairs: the tree under ``root`` mirrored under ``output``, same file names (as the CLI
    names them, ``output_name``). Two sources with one target are refused before any work: on the cluster
    the second would silently be the first's task."""
    from chromagen.media.image import output_path_for
    from chromagen.media.walker import output_name

    resolved = {source.resolve() for source in sources}
    pairs: list[tuple[str, str]] = []
    taken: set[Path] = set()
    for source in sources:
        rel = source.relative_to(root)
        target = output_name(source, output_path_for(output / rel, output / rel.parent, has_alpha=False), resolved,
                             taken)
        if target in taken:
            raise ChromagenError(f"{source}: another input already writes {target}; rename one of them")
        taken.add(target)
        pairs.append((str(source), str(target)))
    return pairs


def colorize_archive(client: "Client", root: str | Path, output: str | Path, *, model: str = DEFAULT_MODEL,
                     size: int = DEFAULT_SIZE, backend: str = "auto", threads: int = 1,
                     on_result: Callable[[tuple[str, str, str]], Any] | None = None) -> ArchiveReport:
    """Colorize every image under ``root`` into ``output`` on the cluster behind ``client``.

    Photos whose output exists are skipped without a task; ``on_result`` sees each result as it arrives.
    """
    from distributed import as_completed

    from chromagen.media.walker import IMAGE, KINDS, walk

    root, output = Path(root), Path(output)
    if not root.is_dir():
        raise ChromagenError(f"{root}: not a folder")
    found = walk([root], kinds={IMAGE: KINDS[IMAGE]}, exclude=[output])  # the CLI's walker, output never read
    sources = [item.path for item in found.items]
    report = ArchiveReport(unread=found.unread, problems=found.problems)
    todo = []
    for source, target in plan(sources, root, output):
        if Path(target).exists():
            report.skipped.append(source)
        else:
            todo.append((source, target))
    futures = {client.submit(colorize_file, s, t, model, size, backend, threads, key=f"colorize-{t}"): s
               for s, t in todo}
    for future in as_completed(futures):
        try:
            result = future.result()
        except Exception as exc:  # e.g. KilledWorker: the photo killed every worker that tried it
            result = (FAILED, futures[future], f"{futures[future]}: task lost ({type(exc).__name__}: {exc})")
        status, source, reason = result
        if status == FAILED:
            report.failed[source] = reason
        else:
            (report.done if status == DONE else report.skipped).append(source)
        if on_result:
            on_result(result)
    return report
