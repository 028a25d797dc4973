"""``chromagen colorize``: files and folders in, colorized copies out, one line per failure."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chromagen.cli.app import USAGE_ERROR, ChromaOption, _fail, _progress, app, err, out
from chromagen.cli.hint_options import HintOption, HintsFileOption, resolve_hints
from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE
from chromagen.errors import ChromagenError

if TYPE_CHECKING:
    from chromagen.hints import Hint
    from chromagen.inference import Colorizer


@dataclass
class Job:
    """One input file and where its colorized copy goes."""

    src: Path
    rel: Path  # output path relative to the output folder, without the final extension decided


@dataclass
class Summary:
    """Counts for the final line, and the failures to explain."""

    ok: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def collect_jobs(inputs: list[Path]) -> tuple[list[Job], list[str]]:
    """Expand files and folders (recursively, image extensions only); missing paths become failures."""
    from chromagen.media.image import is_image_file

    jobs: list[Job] = []
    missing: list[str] = []
    for path in inputs:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p)):
                jobs.append(Job(child, child.relative_to(path)))
        elif path.is_file():
            jobs.append(Job(path, Path(path.name)))
        else:
            missing.append(f"{path}: no such file or folder")
    return jobs, missing


def _colorize_one(colorizer: "Colorizer", job: Job, output: Path, overwrite: bool, claimed: set[Path],
                  hints: list["Hint"]) -> bool:
    """Colorize and save one file; returns False when skipped because the output already exists."""
    from chromagen.media.image import load_image, output_path_for, save_image

    image = load_image(job.src)
    target = output_path_for(output / job.rel, output / job.rel.parent, image.alpha is not None)
    if target in claimed:
        raise ChromagenError(f"{job.src}: another input already writes {target}; rename one of them")
    claimed.add(target)
    if target.exists() and not overwrite:
        return False
    rgb = colorizer.colorize(image, hints=hints or None)
    save_image(rgb, target, alpha=image.alpha, overwrite=overwrite)
    return True

@app.command()
def colorize(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders (searched recursively).",
                                                  show_default=False, metavar="INPUT")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the colorized images.")] = Path("outputs"),
    model: Annotated[str, typer.Option(help="Bundled model name or path to a .safetensors/.ckpt file.")] = DEFAULT_MODEL,
    size: Annotated[int, typer.Option(help="Working resolution (longer side, px) at which color is predicted.")]
    = DEFAULT_SIZE,
    chroma: ChromaOption = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
    hint: HintOption = None,
    hints_file: HintsFileOption = None,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Colorize photos. Color inputs are first reduced to their lightness (CIELAB L), then recolored.

    Outputs keep each input's exact width, height and file format (PNG when an alpha channel must be kept); existing files are skipped unless --overwrite.

    Exit code: 0 all done, 1 any file failed, 2 usage error.
    """
    from chromagen.hints import HintError
    from chromagen.inference import Colorizer

    try:
        hints, model = resolve_hints(hint, hints_file, model)
        colorizer = Colorizer.from_pretrained(model, device=device, size=size, chroma=chroma)
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    jobs, missing = collect_jobs(inputs)
    summary = Summary(failed=list(missing))
    for line in missing:
        _fail(debug, line)
    claimed: set[Path] = set()
    with _progress(disable=len(jobs) <= 1) as progress:
        task = progress.add_task("colorizing", total=len(jobs))
        for job in jobs:
            try:
                if _colorize_one(colorizer, job, output, overwrite, claimed, hints):
                    summary.ok += 1
                else:
                    summary.skipped += 1
                    err.print(f"[yellow]skipped:[/yellow] {job.src}: output exists (use --overwrite)",
                              highlight=False)
            except HintError as exc:  # the hints do not fit this image: a usage error, stop here
                _fail(debug, f"{job.src}: {exc}")
                raise typer.Exit(USAGE_ERROR) from None
            except ChromagenError as exc:
                summary.failed.append(str(exc))
                _fail(debug, str(exc))
            except Exception as exc:  # a bug must not stop the other files
                summary.failed.append(f"{job.src}: {exc}")
                _fail(debug, f"{job.src}: internal error ({type(exc).__name__}: {exc}); rerun with --debug")
            progress.advance(task)
    out.print(f"{summary.ok} colorized, {summary.skipped} skipped, {len(summary.failed)} failed -> {output}",
              highlight=False)
    if summary.failed:
        raise typer.Exit(1)
