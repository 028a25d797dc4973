"""``chromagen colorize``: files and folders in, colorized copies out, one line per failure.

The output folder is checked once, before any model is loaded. The walker finds the inputs (never our own
output folder); each item is handed to the function for its kind (``HANDLERS``), and whatever one file does
wrong is one ``error:`` line while the rest of the batch goes on. No source file is ever replaced.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chromagen.cli.app import BAD_FILE, ChromaOption, _fail, _progress, app, check_output, exit_for, line, say
from chromagen.cli.extras import BackendOption, ThreadsOption
from chromagen.cli.hint_options import HintOption, HintsFileOption, resolve_hints
from chromagen.cli.sequences import (CodecOption, CrfOption, DitherOption, FormatOption, PaletteOption,
                                     SequenceOptions, StabilizeOption, colorize_sequence, kind_of, output_for)
from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE
from chromagen.errors import ChromagenError, UsageError
from chromagen.media.video import DEFAULT_CODEC, DEFAULT_CRF
from chromagen.media.walker import IMAGE, KINDS, VIDEO, Item, output_name, walk
from chromagen.temporal import DEFAULT_STRENGTH

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    from rich.progress import Progress

    from chromagen.hints import Hint
    from chromagen.inference import Colorizer
    from chromagen.media.image import LoadedImage

OVERLAP_PIXELS = 16_000_000  # photos up to this size are read ahead and written behind; larger ones one at a time


def _load_if_small(path: Path) -> "LoadedImage | None":
    """The decoded photo when it is a still of at most ``OVERLAP_PIXELS`` by its header, else None (decoded
    later, in its turn). Only errors of the decode itself are raised: they are the photo's to report."""
    import warnings

    from PIL import Image

    from chromagen.media.image import load_image

    try:
        if kind_of(path) is not None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                if im.width * im.height > OVERLAP_PIXELS:
                    return None
    except Exception:  # noqa: BLE001 - a broken header: the photo's own turn says what is wrong
        return None
    return load_image(path)


class Overlap:
    """Decoding the next photo and writing the last one run beside the network (Pillow, numpy and ONNX
    Runtime release the GIL): one photo read ahead, one written behind, each at most ``OVERLAP_PIXELS``, so
    a folder of large scans never holds more than one of them at a time. The read-ahead starts once the
    current photo is decoded, so two decodes never run at once."""

    def __init__(self, items: list[Item]) -> None:
        self._next = {a.path: b for a, b in zip(items, items[1:]) if b.kind == IMAGE}
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="chromagen-read")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="chromagen-write")
        self._ahead: dict[Path, Future["LoadedImage | None"]] = {}

    def load(self, path: Path) -> "LoadedImage":
        """The photo (decoded ahead, or now), then the next one's decode starts."""
        from chromagen.media.image import load_image

        ahead = self._ahead.pop(path, None)
        image = ahead.result() if ahead is not None else None
        image = load_image(path) if image is None else image
        following = self._next.get(path)
        if following is not None:
            self._ahead[following.path] = self._reader.submit(_load_if_small, following.path)
        return image

    def write(self, job: Callable[[], None], pixels: int) -> "Future[None] | None":
        """Run ``job`` behind (returns its future) when the photo is small enough, else now (returns None)."""
        if pixels > OVERLAP_PIXELS:
            job()
            return None
        return self._writer.submit(job)

    def close(self) -> None:
        """Wait for the last write (an interrupted run still finishes the file it was writing)."""
        self._reader.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True)


@dataclass
class Run:
    """What every item's handler needs: the model, where outputs go, and what is already taken."""

    colorizer: "Colorizer"
    output: Path
    overwrite: bool
    sources: set[Path]  # resolved input files: never written to
    progress: "Progress"  # long items (videos) add their own task to it
    overlap: Overlap  # photos read ahead and written behind
    claimed: set[Path] = field(default_factory=set)  # outputs written (or kept) by this run
    sequence: SequenceOptions = SequenceOptions()  # video and animation options
    hints: list["Hint"] = field(default_factory=list)  # user colors, applied to every image

    def target(self, item: Item, candidate: Path) -> Path | None:
        """Reserve ``candidate`` for ``item``; None when it exists and may not be replaced (skip).

        An input written in another format whose output name is another input's own keeps its extension in
        its name (``output_name``: film.avi beside film.mkv is written as film-avi.mkv)."""
        candidate = output_name(item.path, candidate, self.sources, self.claimed)
        if candidate.resolve() in self.sources:
            raise ChromagenError(f"{item.path}: its output {candidate} would replace a source file; "
                                 f"choose another --output folder")
        if candidate in self.claimed:
            raise ChromagenError(f"{item.path}: another input already writes {candidate}; rename one of them")
        self.claimed.add(candidate)
        return None if candidate.exists() and not self.overwrite else candidate


def colorize_pages(run: Run, image: "LoadedImage", pages: int, target: Path) -> None:
    """Every page of a multi-page TIFF, colorized and written one page at a time into one TIFF."""
    from chromagen.media.image import load_image, save_pages, to_depth

    def colored() -> "Iterator[tuple[np.ndarray, np.ndarray | None]]":
        for page in range(pages):
            source = image if page == 0 else load_image(image.path, page)
            yield to_depth(run.colorizer.colorize(source, hints=run.hints or None), source.pixels.dtype), source.alpha

    save_pages(colored(), target, overwrite=run.overwrite, meta=image.meta)


def colorize_image(run: Run, item: Item) -> "bool | Future[None]":
    """Colorize one still image (every page of a multi-page TIFF); False when skipped because its output
    already exists, else True or the future of its save (written behind, ``Overlap``)."""
    from chromagen.media.image import output_path_for, page_count, save_image, to_depth

    image = run.overlap.load(item.path)
    target = run.target(item, output_path_for(run.output / item.rel, run.output / item.rel.parent,
                                              image.alpha is not None))
    if target is None:
        return False
    if (pages := page_count(item.path)) > 1:
        colorize_pages(run, image, pages, target)
        return True
    colored = run.colorizer.colorize(image, hints=run.hints or None)
    colored = to_depth(colored, image.pixels.dtype)  # 16-bit in, 16-bit out

    def save() -> None:
        save_image(colored, target, alpha=image.alpha, overwrite=run.overwrite, meta=image.meta)

    return run.overlap.write(save, colored.shape[0] * colored.shape[1]) or True


def colorize_moving(run: Run, item: Item) -> "bool | Future[None]":
    """A video or an animated GIF/APNG/WebP (``chromagen.cli.sequences``); still images go to ``colorize_image``."""
    kind = kind_of(item.path)
    if kind is None:
        return colorize_image(run, item)
    target = run.target(item, output_for(kind, run.output / item.rel, run.sequence))
    if target is None:
        return False
    if run.hints:  # a point of a moving picture: its object moves on, the point stays
        say("note:", "yellow", f"{item.path}: color hints are for still photos; colorized without them")
    colorize_sequence(run.colorizer, kind, item.path, target, run.sequence, run.progress)
    return True


# item kind -> the function that colorizes one item of it (media modules add their kinds here)
# (True: done, False: skipped, a future: done once it completes)
HANDLERS: dict[str, Callable[[Run, Item], "bool | Future[None]"]] = {IMAGE: colorize_moving, VIDEO: colorize_moving}


@dataclass
class Summary:
    """Counts for the final line."""

    ok: int = 0
    skipped: int = 0
    failed: int = 0


def _outcome(step: Callable[[], "bool | Future[None]"]) -> "bool | Future[None] | Exception":
    """What ``step`` gives, or the exception it raised, to be reported in its turn (a bug too: it must not
    stop the other files)."""
    try:
        return step()
    except Exception as exc:  # noqa: BLE001
        return exc


def _report(item: Item, outcome: "bool | Future[None] | Exception", summary: Summary, debug: bool
            ) -> "Future[None] | None":
    """Count and say one item's outcome: colorized, skipped or one error line. A photo still being written
    (a future) is handed back, to be reported once its write is done."""
    if isinstance(outcome, Future):
        return outcome
    if isinstance(outcome, UsageError):  # e.g. hints that do not fit this image: the command itself is wrong
        raise UsageError(f"{item.path}: {outcome}") from None
    if isinstance(outcome, ChromagenError):
        summary.failed += 1
        _fail(debug, str(outcome))
    elif isinstance(outcome, Exception):
        summary.failed += 1
        _fail(debug, f"{item.path}: internal error ({type(outcome).__name__}: {outcome}); rerun with --debug")
    elif outcome:
        summary.ok += 1
    else:
        summary.skipped += 1
        say("skipped:", "yellow", f"{item.path}: output exists (use --overwrite)")
    return None


def _process(run: Run, items: list[Item], summary: Summary, debug: bool, advance: Callable[[], None]) -> None:
    """Every item in order; a photo's write (behind the next item's colorization) is reported before that
    next item, so lines and counts keep the input order."""
    writing: tuple[Item, Future[None]] | None = None

    def finish_write() -> None:
        if writing is not None:
            _report(writing[0], _outcome(lambda: writing[1].result() or True), summary, debug)
            advance()

    for item in items:
        outcome = _outcome(partial(HANDLERS[item.kind], run, item))
        finish_write()
        pending = _report(item, outcome, summary, debug)
        writing = (item, pending) if pending is not None else None
        if pending is None:
            advance()
    finish_write()


@app.command()
def colorize(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders (searched recursively).",
                                                  show_default=False, metavar="INPUT...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the colorized images.",
                                         metavar="FOLDER")] = Path("outputs"),
    model: Annotated[str, typer.Option(help="Bundled model name or path to a .safetensors/.ckpt file.",
                                       metavar="NAME|FILE")] = DEFAULT_MODEL,
    size: Annotated[int, typer.Option(help="Working resolution (longer side, px) at which color is predicted.",
                                      metavar="PX")] = DEFAULT_SIZE,
    chroma: ChromaOption = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.", metavar="DEVICE")] = "auto",
    crf: CrfOption = DEFAULT_CRF,
    codec: CodecOption = DEFAULT_CODEC,
    stabilize: StabilizeOption = DEFAULT_STRENGTH,
    fmt: FormatOption = None,
    palette: PaletteOption = "shared",
    dither: DitherOption = True,
    backend: BackendOption = "auto",
    threads: ThreadsOption = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files (never a source file).")] = False,
    hint: HintOption = None,
    hints_file: HintsFileOption = None,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Colorize photos, videos (mp4, mov, mkv, avi, webm, mpg, ts, wmv...) and animations (GIF, APNG, WebP).

    Color inputs are first reduced to their lightness (CIELAB L), then recolored. Videos keep their frames,
    timestamps, rotation and sound; an interrupted video resumes where it stopped when run again.

    Outputs keep each input's exact width, height, bit depth, file format (PNG when an alpha channel must be kept) and metadata; existing files are skipped unless --overwrite.

    Exit code: 0 all done, 1 any file failed, 2 usage error.
    """
    from chromagen.inference import Colorizer

    sequence = SequenceOptions(crf=crf, codec=codec, stabilize=stabilize, format=fmt, palette=palette, dither=dither)
    try:
        sequence.check()
        check_output(output)
        hints, model = resolve_hints(hint, hints_file, model)
        colorizer = Colorizer.from_pretrained(model, device=device, size=size, chroma=chroma, backend=backend,
                                              threads=threads)
    except ChromagenError as exc:
        raise exit_for(exc if isinstance(exc, UsageError) else UsageError(str(exc)), debug) from None
    found = walk(inputs, kinds={kind: KINDS[kind] for kind in HANDLERS}, exclude=[output])
    if any(item.kind == VIDEO for item in found.items):
        from chromagen.media.video import check_codec

        try:
            check_codec(codec)
        except ChromagenError as exc:
            raise exit_for(UsageError(str(exc)), debug) from None
    summary = Summary(failed=len(found.problems), skipped=len(found.unread))
    for problem in found.problems:
        _fail(False, problem)
    for unread in found.unread:  # HEIC or raw beside the scans: said, not a failure (a raw is often a JPEG's twin)
        say("skipped:", "yellow", unread)
    one_still = len(found.items) <= 1 and not any(kind_of(item.path) for item in found.items)
    with _progress(disable=one_still) as progress:  # a single film still shows its frames/s and time left
        run = Run(colorizer, output, overwrite, {item.path.resolve() for item in found.items}, progress,
                  Overlap(found.items), sequence=sequence, hints=hints)
        task = progress.add_task("colorizing", total=len(found.items))
        try:
            _process(run, found.items, summary, debug, lambda: progress.advance(task))
        except UsageError as exc:
            raise exit_for(exc, debug) from None
        finally:
            run.overlap.close()
    line(f"{summary.ok} colorized, {summary.skipped} skipped, {summary.failed} failed -> {output}")
    if summary.failed:
        raise typer.Exit(BAD_FILE)

