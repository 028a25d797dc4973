"""Colorize frame sequences (videos, animations) through the one pipeline, with temporal stabilization.

Per batch of frames: ``colorizer.predict_ab`` (working resolution) -> ``temporal.Stabilizer`` ->
``colorizer.recombine`` per frame (full resolution). Videos are processed in segments checkpointed beside
the output, so an interrupted job resumes at the last finished segment; the final file appears only when
complete. The CLI and the server both call ``colorize_video`` and ``colorize_animation``.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from chromagen.errors import ChromagenError
from chromagen.media import video as vio
from chromagen.temporal import DEFAULT_STRENGTH, Stabilizer, StabilizerState, to_gray

# (frames done, total frames or 0 when the container does not say)
ProgressFn = Callable[[int, int], None]
BATCH = 8
SEGMENT_FRAMES = 30 * BATCH  # about 10 s at 24 fps of work lost at most on an interruption


class ColorizerLike(Protocol):
    """The two halves of ``chromagen.inference.Colorizer`` this module uses."""

    name: str
    size: int
    chroma: float

    def predict_ab(self, images: list[np.ndarray]) -> np.ndarray: ...

    def recombine(self, image: np.ndarray, ab: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class VideoOptions:
    """Everything that changes the output (a resumed job must use the same)."""

    codec: str = vio.DEFAULT_CODEC
    crf: int = vio.DEFAULT_CRF
    stabilize: float = DEFAULT_STRENGTH
    batch: int = BATCH
    segment_frames: int = SEGMENT_FRAMES


def colorize_frames(colorizer: ColorizerLike, frames: np.ndarray, stabilizer: Stabilizer) -> np.ndarray:
    """N x H x W x 3 RGB frames in display order -> colorized frames of the same dtype."""
    ab = colorizer.predict_ab(list(frames))
    h, w = ab.shape[-2:]
    ab = stabilizer(ab, np.stack([to_gray(f, h, w) for f in frames]))
    return np.stack([colorizer.recombine(f, a) for f, a in zip(frames, ab)])


def _job_key(src: Path, colorizer: ColorizerLike, options: VideoOptions) -> str:
    """Identifies a job: same source file (size, mtime), same model and options."""
    st = src.stat()
    fields = {"src": str(src.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
              "model": colorizer.name, "working_size": colorizer.size, "chroma": colorizer.chroma, **asdict(options)}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class Checkpoints:
    """Finished segments of one job in a folder beside the output: ``seg-NNNNN.mp4`` + its ``.npz`` state."""

    def __init__(self, dst: Path, key: str) -> None:
        self.folder = dst.with_name(f".{dst.name}.parts")
        marker = self.folder / "job.json"
        if self.folder.is_dir() and (not marker.is_file() or json.loads(marker.read_text()).get("key") != key):
            shutil.rmtree(self.folder)  # another source or other options: start over
        self.folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"key": key}))

    def segment(self, index: int) -> Path:
        return self.folder / f"seg-{index:05d}.mp4"

    def done(self) -> list[tuple[Path, dict[str, np.ndarray]]]:
        """Finished segments in order (a segment without its state file was interrupted: dropped)."""
        found = []
        for index in range(1_000_000):
            seg, state = self.segment(index), self.segment(index).with_suffix(".npz")
            if not (seg.is_file() and state.is_file()):
                seg.unlink(missing_ok=True)
                return found
            with np.load(state) as data:
                found.append((seg, dict(data)))
        raise ChromagenError(f"{self.folder}: too many segments")

    def finish(self, index: int, state: dict[str, np.ndarray]) -> None:
        """Record a segment as finished (its state file is written atomically after the segment itself)."""
        path = self.segment(index).with_suffix(".npz")
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **state)
        os.replace(tmp, path)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _state_arrays(stabilizer: Stabilizer, last_pts: int, frames_done: int, finished: bool) -> dict[str, np.ndarray]:
    state = stabilizer.state
    arrays = {"last_pts": np.array(last_pts), "frames_done": np.array(frames_done), "finished": np.array(finished)}
    if state is not None:
        arrays |= {"gray": state.gray, "ab": state.ab}
    return arrays


def _restore(stabilizer: Stabilizer, arrays: dict[str, np.ndarray]) -> None:
    if "gray" in arrays:
        stabilizer.state = StabilizerState(gray=arrays["gray"], ab=arrays["ab"])


def colorize_video(src: Path, dst: Path, colorizer: ColorizerLike, *, options: VideoOptions = VideoOptions(),
                   progress: ProgressFn | None = None) -> Path:
    """Colorize a video file into ``dst`` (created atomically), resuming an interrupted job for the same output.

    Keeps size, frame count, timestamps, duration and rotation; copies audio and subtitle packets as they are.
    Any ChromagenError leaves neither ``dst`` nor checkpoints; an interruption (Ctrl-C, SIGTERM raised as
    KeyboardInterrupt) keeps the finished segments for the next run.
    """
    src, dst = Path(src), Path(dst)
    info = vio.probe_video(src)
    vio.encoder_pix_fmt(options.codec, info)  # refuse odd sizes and unknown codecs before any work
    dst.parent.mkdir(parents=True, exist_ok=True)
    checkpoints = Checkpoints(dst, _job_key(src, colorizer, options))
    try:
        segments = _colorize_segments(src, info, colorizer, options, checkpoints, progress)
        vio.assemble(src, segments, dst, info)
    except ChromagenError:
        checkpoints.remove()
        raise
    checkpoints.remove()
    return dst


def _colorize_segments(src: Path, info: vio.VideoInfo, colorizer: ColorizerLike, options: VideoOptions,
                       checkpoints: Checkpoints, progress: ProgressFn | None) -> list[Path]:
    """Encode every not-yet-finished segment; returns all segment files in order."""
    stabilizer = Stabilizer(options.stabilize)
    done = checkpoints.done()
    segments = [seg for seg, _ in done]
    last = done[-1][1] if done else None
    if last is not None and bool(last["finished"]):
        return segments
    frames_done = int(last["frames_done"]) if last is not None else 0
    start = int(last["last_pts"]) + 1 if last is not None else None
    if last is not None:
        _restore(stabilizer, last)
    if progress:
        progress(frames_done, info.frames)
    writer: vio.SegmentWriter | None = None
    in_segment, last_pts = 0, -1
    try:
        for batch in _lookahead(vio.read_batches(src, info, options.batch, start)):
            chunk, is_last = batch
            if writer is None:
                writer = vio.SegmentWriter(checkpoints.segment(len(segments)), info, options.codec, options.crf)
            writer.write(colorize_frames(colorizer, chunk.pixels, stabilizer), chunk.pts, chunk.durations)
            in_segment += len(chunk.pts)
            frames_done += len(chunk.pts)
            last_pts = chunk.pts[-1]
            if in_segment >= options.segment_frames or is_last:
                segments.append(writer.close())
                writer, in_segment = None, 0
                checkpoints.finish(len(segments) - 1, _state_arrays(stabilizer, last_pts, frames_done, is_last))
            if progress:
                progress(frames_done, info.frames)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if not segments:
        raise ChromagenError(f"{src}: the video stream has no frames")
    return segments


def _lookahead(batches: Iterator[vio.FrameBatch]) -> Iterator[tuple[vio.FrameBatch, bool]]:
    """Each batch with a flag telling whether it is the last one."""
    previous = next(batches, None)
    for batch in batches:
        yield previous, False
        previous = batch
    if previous is not None:
        yield previous, True
