"""``chromagen evaluate`` and ``chromagen compare``: score models on ground-truth photos."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from chromagen.cli.app import USAGE_ERROR, ChromaOption, _fail, _progress, app, check_output, line, out, positive
from chromagen.cli.extras import need_torch
from chromagen.cli.sequences import StabilizeOption
from chromagen.temporal import DEFAULT_STRENGTH
from chromagen.defaults import DEFAULT_PATCH
from chromagen.errors import ChromagenError


@app.command()
def evaluate(
    model: Annotated[list[str], typer.Option(help="Model to score: 'gray' (ab = 0), a bundled name or a "
                                                  "weights/checkpoint path. Repeatable.")],
    data: Annotated[Path, typer.Option(help="Folder of ground-truth color photos (searched recursively), or a "
                                            "color video (scored frame by frame, with flicker).")],
    size: Annotated[int, typer.Option(help="Protocol size: center square crops resized to size x size.")] = 256,
    working_size: Annotated[Optional[int], typer.Option(help="Resolution the model runs at (default: the "
                                                               "colorize default, 192).")]
    = None,
    limit: Annotated[Optional[int], typer.Option(help="Score only the first N images.")] = None,
    hints: Annotated[Optional[list[int]], typer.Option(help="Give hint-aware models N ground-truth color hints "
                                                            "per image (seeded points); repeatable, one result "
                                                            "row per N.", show_default=False)] = None,
    hint_patch: Annotated[int, typer.Option(help="Side of each ground-truth hint's square, in working-size "
                                                 "pixels (odd); its color is the truth's mean there.")]
    = DEFAULT_PATCH,
    fast: Annotated[bool, typer.Option(help="Only PSNR, ab MSE, colorfulness and the hinted ab error (no SSIM, "
                                               "LPIPS, FID or AuC): quick curves on a CPU.")] = False,
    chroma: ChromaOption = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the full result as JSON.")] = None,
    grid: Annotated[Optional[Path], typer.Option(help="Write a PNG grid: gray input | models | truth.")] = None,
    curves: Annotated[Optional[Path], typer.Option(help="Write a PNG of accuracy-vs-threshold curves.")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Write a markdown report (with grid and curves).")]
    = None,
    stabilize: StabilizeOption = DEFAULT_STRENGTH,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Score models on ground-truth photos: PSNR, SSIM, LPIPS, FID, colorfulness, ab MSE and AuC.

    On a video: per-frame PSNR, colorfulness and flicker (mean |delta ab| between frames of a shot), with
    temporal stabilization and frame by frame, beside the ground truth's own flicker.
    """
    need_torch("evaluate")
    from chromagen.media.video import is_video_file

    try:
        for target in (json_out, grid, curves, report):
            if target is not None:
                check_output(target.parent)  # said now, not after minutes of scoring
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    if data.is_file() and is_video_file(data):
        from chromagen.cli.sequences import evaluate_video_file

        try:
            for name in model:
                evaluate_video_file(data, name, working_size, chroma, device, stabilize, limit,
                                    json_out.with_stem(f"{json_out.stem}-{name}") if json_out and len(model) > 1
                                    else json_out)
        except ChromagenError as exc:
            _fail(debug, str(exc))
            raise typer.Exit(USAGE_ERROR) from None
        return
    from chromagen.evaluation.report import results_table, save_curves, save_grid, write_json, write_report
    from chromagen.evaluation.runner import Protocol, list_images
    from chromagen.evaluation.runner import evaluate as run_evaluation
    from chromagen.backends.torch_backend import resolve_device

    try:
        if hints and min(hints) < 0:
            raise ChromagenError(f"--hints must be 0 or more (got {min(hints)})")
        protocol = Protocol(size=positive("--size", size), working_size=positive("--working-size", working_size),
                            limit=positive("--limit", limit), chroma=chroma, hints=hints, hint_patch=hint_patch,
                            fast=fast)
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
    recipes: Annotated[str, typer.Option(help="Comma-separated recipes: shipped names or YAML files.",
                                         metavar="NAMES")],
    data: Annotated[list[Path], typer.Option(help="Training tar shards or folders (repeatable).")],
    eval_data: Annotated[Path, typer.Option(help="Folder of ground-truth photos to score on.")],
    steps: Annotated[int, typer.Option(help="Training steps for every recipe.")] = 200,
    val_data: Annotated[Optional[list[Path]], typer.Option(help="Validation folders (repeatable).")] = None,
    size: Annotated[int, typer.Option(help="Evaluation protocol size.")] = 256,
    limit: Annotated[Optional[int], typer.Option(help="Score only the first N images.")] = None,
    output: Annotated[Path, typer.Option(help="Folder for the runs and the report.")] = Path("runs/compare"),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (evaluation).")] = "auto",
    resume: Annotated[bool, typer.Option(help="Continue each recipe's earlier run in the output folder (only if "
                                              "it had the same recipe, data and steps).")] = True,
    debug: Annotated[bool, typer.Option(help="Show Python tracebacks.")] = False,
) -> None:
    """Train each recipe with the same data and step budget, then evaluate them together into one report."""
    need_torch("compare")
    from chromagen.evaluation.compare import save_loss_curves, summary_line, train_all
    from chromagen.evaluation.report import results_table, save_curves, save_grid, write_json, write_report
    from chromagen.evaluation.runner import GRAY_MODEL, Protocol
    from chromagen.evaluation.runner import evaluate as run_evaluation
    from chromagen.backends.torch_backend import resolve_device

    try:
        check_output(output)
        exported = train_all([r.strip() for r in recipes.split(",") if r.strip()], [str(p) for p in data],
                             [str(p) for p in val_data] if val_data else [], positive("--steps", steps), output,
                             log=lambda text: line(text, stderr=True), resume=resume)
        models = {GRAY_MODEL: GRAY_MODEL, **{name: str(p) for name, p in exported.items()}}
        result, samples = run_evaluation(models, eval_data, Protocol(size=positive("--size", size),
                                                                     limit=positive("--limit", limit)),
                                         device=str(resolve_device(device)))
        losses = save_loss_curves({name: p.parent for name, p in exported.items()}, output / "report-loss.png")
        write_json(result, output / "report.json")
        write_report(result, output / "report.md", save_grid(samples, output / "report-grid.png"),
                     save_curves(result, output / "report-curves.png"), {"Training loss": losses})
    except ChromagenError as exc:
        _fail(debug, str(exc))
        raise typer.Exit(USAGE_ERROR) from None
    out.print(results_table(result))
    line(f"{summary_line(result)}; report: {output / 'report.md'}")
