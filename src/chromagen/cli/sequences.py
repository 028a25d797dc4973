"""Videos and animations for ``chromagen colorize`` and ``chromagen evaluate``: options, progress, one call each.

The work itself is ``chromagen.sequence``; this module only turns command-line options into its options,
shows frames/s and the time left for each film, and prints the video evaluation table.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from chromagen.media.animation import is_animation
from chromagen.media.video import DEFAULT_CODEC, DEFAULT_CRF, is_video_file
from chromagen.temporal import DEFAULT_STRENGTH

if TYPE_CHECKING:
    from rich.progress import Progress

    from chromagen.inference import Colorizer
    from chromagen.sequence import ProgressFn

VIDEO, ANIMATION = "video", "animation"

CrfOption = Annotated[int, typer.Option(help="Video quality: x264/x265/VP9 constant rate factor (lower = better, "
                                             "bigger).", metavar="N")]
CodecOption = Annotated[str, typer.Option(help="Video encoder (FFmpeg name): libx264, libx265, libvpx-vp9...",
                                          metavar="NAME")]
StabilizeOption = Annotated[float, typer.Option(help="Temporal stabilization of video/animation colors, 0 "
                                                     "(frame by frame) to 0.95.", metavar="X")]
FormatOption = Annotated[Optional[str], typer.Option(
    "--format", help="Write animations as gif, png (APNG) or webp (default: the source's format).",
    metavar="FORMAT")]
PaletteOption = Annotated[str, typer.Option(help="GIF palette: shared (one for all frames) or frame (one each).",
                                            metavar="shared|frame")]
DitherOption = Annotated[bool, typer.Option(help="Dither GIF frames (smoother gradients, more grain).")]


@dataclass(frozen=True)
class SequenceOptions:
    """The colorize options that apply to videos and animations."""

    crf: int = DEFAULT_CRF
    codec: str = DEFAULT_CODEC
    stabilize: float = DEFAULT_STRENGTH
    format: str | None = None
    palette: str = "shared"
    dither: bool = True

    def check(self) -> None:
        """Every option's value, once, before any work: a bad one is the command's error, not each film's.
        (The encoder itself needs PyAV: ``video.check_codec``, once films are found.)"""
        from chromagen.media import animation, video
        from chromagen.temporal import check_strength

        check_strength(self.stabilize)
        animation.check_palette(self.palette)
        animation.output_path_for(Path("check"), self.format)
        video.check_crf(self.codec, self.crf)


def kind_of(path: Path) -> str | None:
    """``video`` or ``animation`` for the inputs this module handles, None for still images."""
    if is_video_file(path):
        return VIDEO
    return ANIMATION if is_animation(path) else None


def frames_task(progress: "Progress", name: str) -> "ProgressFn":
    """A progress line for one film or animation: frames done of total, frames/s, time left."""
    task = progress.add_task(name, total=None)
    started: list[float] = []

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        if not started:
            started.extend([now, done])
        elapsed, first = now - started[0], started[1]
        rate = (done - first) / elapsed if elapsed > 0 and done > first else 0.0
        progress.update(task, completed=done, total=total or None,
                        description=f"{name} ({rate:.1f} frames/s)" if rate else name)

    return update


def colorize_sequence(colorizer: "Colorizer", kind: str, src: Path, target: Path, options: SequenceOptions,
                      progress: "Progress") -> Path:
    """Colorize one video or animation to ``target`` (``output_for``'s, or a name made from it); returns it."""
    from chromagen.sequence import VideoOptions, colorize_animation, colorize_video

    report = frames_task(progress, src.name)
    if kind == VIDEO:
        try:
            return colorize_video(src, target, colorizer, progress=report,
                                  options=VideoOptions(codec=options.codec, crf=options.crf,
                                                       stabilize=options.stabilize))
        except (KeyboardInterrupt, SystemExit):
            say_interrupted(src)
            raise
    return colorize_animation(src, target, colorizer,
                              palette=options.palette, dither=options.dither, stabilize=options.stabilize,
                              progress=report)


def say_interrupted(src: Path) -> None:
    """Ctrl-C or SIGTERM during a film: finished segments are kept; the same command resumes after them."""
    from chromagen.cli.app import line

    line(f"interrupted: {src}: finished segments kept; run the same command again to resume", stderr=True)


def output_for(kind: str, target: Path, options: SequenceOptions) -> Path:
    """Where a video's or animation's colorized copy goes, before any work (to skip existing outputs)."""
    from chromagen.media import animation, video

    return video.output_path_for(target) if kind == VIDEO else animation.output_path_for(target, options.format)


def evaluate_video_file(data: Path, model: str, working_size: int | None, chroma: float | None, device: str,
                        stabilize: float, limit: int | None, json_out: Path | None) -> None:
    """``chromagen evaluate --data clip.mp4``: fidelity and flicker, stabilized vs frame by frame."""
    from chromagen.cli.app import out
    from chromagen.defaults import DEFAULT_SIZE
    from chromagen.evaluation.report import write_json
    from chromagen.evaluation.video import evaluate_video, video_table
    from chromagen.inference import Colorizer

    colorizer = Colorizer.from_pretrained(model, device=device, size=working_size or DEFAULT_SIZE, chroma=chroma)
    result = evaluate_video(data, colorizer, stabilize=stabilize, limit=limit)
    if json_out:
        write_json(result, json_out)
    out.print(video_table(result))
