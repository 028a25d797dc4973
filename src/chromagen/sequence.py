"""Colorize frame sequences (videos, animations) through the one pipeline, with temporal stabilization.

Per batch of frames: ``colorizer.predict`` (ab at the working resolution, and each frame's full-resolution
L) -> ``temporal.Stabilizer`` -> ``colorizer.recombine_batch`` (full resolution, frames side by side).
Videos are processed in segments checkpointed beside the output, so an interrupted job resumes at the last
finished segment; the final file appears only when complete. The CLI and the server both call
``colorize_video`` and ``colorize_animation``.
"""

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from chromagen.errors import ChromagenError, WriteError, writing
from chromagen.media import animation as anio
from chromagen.media import video as vio
from chromagen.media.files import atomic_path
from chromagen.temporal import DEFAULT_STRENGTH, Stabilizer, StabilizerState, to_gray

if TYPE_CHECKING:
    from chromagen.inference import Prediction

# (frames done, total frames or 0 when the container does not say)
ProgressFn = Callable[[int, int], None]
BATCH = 8
BATCH_PIXELS = BATCH * 640 * 360  # larger frames go in smaller batches: memory bounded whatever the size
SEGMENT_FRAMES = 240  # about 10 s at 24 fps of work lost at most on an interruption


class ColorizerLike(Protocol):
    """The two halves of ``chromagen.inference.Colorizer`` this module uses."""

    name: str
    size: int
    chroma: float

    def predict(self, images: list[np.ndarray]) -> "Prediction": ...

    def recombine_batch(self, images: list[np.ndarray], ab: np.ndarray,
                        lightness: list[np.ndarray] | None = None) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class VideoOptions:
    """Everything that changes the output (a resumed job must use the same)."""

    codec: str = vio.DEFAULT_CODEC
    crf: int = vio.DEFAULT_CRF
    preset: str = vio.DEFAULT_PRESET
    stabilize: float = DEFAULT_STRENGTH
    batch: int = BATCH
    segment_frames: int = SEGMENT_FRAMES


def batch_size(options: "VideoOptions", info: vio.VideoInfo) -> int:
    """Frames per batch: ``options.batch``, fewer for frames larger than 640x360 (at least one)."""
    return max(1, min(options.batch, BATCH_PIXELS // (info.width * info.height)))


def stabilized(colorizer: ColorizerLike, frames: np.ndarray, stabilizer: Stabilizer) -> "Prediction":
    """N x H x W x 3 RGB frames in display order -> their prediction, its ab stabilized (working resolution)."""
    prediction = colorizer.predict(list(frames))
    h, w = prediction.ab.shape[-2:]
    return prediction._replace(ab=stabilizer(prediction.ab, np.stack([to_gray(f, h, w) for f in frames])))


def colorize_frames(colorizer: ColorizerLike, frames: np.ndarray, stabilizer: Stabilizer) -> np.ndarray:
    """N x H x W x 3 RGB frames in display order -> colorized frames of the same dtype."""
    ab, lightness = stabilized(colorizer, frames, stabilizer)
    return np.stack(colorizer.recombine_batch(list(frames), ab, lightness))


def _job_key(src: Path, colorizer: ColorizerLike, options: VideoOptions) -> str:
    """Identifies a job: same source file (size, mtime), same model and options."""
    st = src.stat()
    fields = {"src": str(src.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
              "model": colorizer.name, "working_size": colorizer.size, "chroma": colorizer.chroma, **asdict(options)}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _marked_key(marker: Path) -> str | None:
    """The job key a checkpoint folder was made for; None when its marker is missing or unreadable."""
    try:
        key = json.loads(marker.read_text()).get("key")
    except (OSError, ValueError, AttributeError):  # a disk that filled up while writing it, say
        return None
    return key if isinstance(key, str) else None


class Checkpoints:
    """Finished segments of one job in a folder beside the output: ``seg-NNNNN.part`` + its ``.npz`` state.

    Segments are MP4 files named ``.part`` so that a folder walk over the output never takes one for a video.
    """

    def __init__(self, dst: Path, key: str) -> None:
        self.folder = dst.with_name(f".{dst.name}.parts")
        marker = self.folder / "job.json"
        if self.folder.is_dir() and _marked_key(marker) != key:
            shutil.rmtree(self.folder)  # another source or other options (or a marker cut short): start over
        self.folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"key": key}))

    def segment(self, index: int) -> Path:
        return self.folder / f"seg-{index:05d}.part"

    def done(self) -> list[tuple[Path, dict[str, np.ndarray]]]:
        """Finished segments in order (a segment without its state file was interrupted: dropped)."""
        found = []
        while (seg := self.segment(len(found))).is_file() and seg.with_suffix(".npz").is_file():
            with np.load(seg.with_suffix(".npz")) as data:
                found.append((seg, dict(data)))
        seg.unlink(missing_ok=True)
        return found

    def finish(self, index: int, state: dict[str, np.ndarray]) -> None:
        """Record a segment as finished (its state file is written atomically after the segment itself)."""
        path = self.segment(index).with_suffix(".npz")
        with atomic_path(path, ".npz") as tmp:  # np.savez appends .npz to any other name
            np.savez(tmp, **state)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _state_arrays(state: StabilizerState | None, pts: list[int], durations: list[int], frames_done: int,
                  finished: bool) -> dict[str, np.ndarray]:
    """A finished segment's frame timing plus what the next segment needs to continue seamlessly."""
    arrays = {"pts": np.array(pts, np.int64), "durations": np.array(durations, np.int64),
              "frames_done": np.array(frames_done), "finished": np.array(finished)}
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
    Any ChromagenError leaves neither ``dst`` nor checkpoints; an interruption (Ctrl-C, or SIGTERM once the
    CLI turns it into an exception) and a full or read-only disk (``WriteError``) keep the finished
    segments for the next run.
    """
    src, dst = Path(src), Path(dst)
    info = vio.probe_video(src)
    vio.encoder_pix_fmt(options.codec, info)  # refuse odd sizes and unknown codecs before any work
    with writing(dst):
        dst.parent.mkdir(parents=True, exist_ok=True)
        checkpoints = Checkpoints(dst, _job_key(src, colorizer, options))
    try:
        with writing(dst, "finished segments kept: make room and run the same command again to resume"):
            _colorize_segments(src, info, colorizer, options, checkpoints, progress)
            done = checkpoints.done()
            if not done:
                raise ChromagenError(f"{src}: the video stream has no frames")
            durations = {int(p): int(d) for _, state in done for p, d in zip(state["pts"], state["durations"])}
            vio.assemble(src, [seg for seg, _ in done], durations, dst, info)
    except WriteError:
        raise
    except ChromagenError:
        checkpoints.remove()
        raise
    checkpoints.remove()
    return dst


class _SegmentSink:
    """The second half of a video job: recombines predicted batches and encodes them into checkpointed segments."""

    def __init__(self, colorizer: ColorizerLike, info: vio.VideoInfo, options: VideoOptions,
                 checkpoints: Checkpoints, index: int, frames_done: int, progress: ProgressFn | None) -> None:
        self.colorizer, self.info, self.options, self.checkpoints = colorizer, info, options, checkpoints
        self.index, self.frames_done, self.progress = index, frames_done, progress
        self.writer: vio.SegmentWriter | None = None
        self.pts: list[int] = []
        self.durations: list[int] = []

    def add(self, chunk: vio.FrameBatch, prediction: "Prediction", closes: bool, finished: bool,
            state: StabilizerState | None) -> None:
        """Encode one batch; ``closes``: it ends a segment, checkpointed with the stabilizer's ``state``."""
        if self.writer is None:
            self.writer = vio.SegmentWriter(self.checkpoints.segment(self.index), self.info, self.options.codec,
                                            self.options.crf, self.options.preset)
        self.writer.write(np.stack(self.colorizer.recombine_batch(list(chunk.pixels), *prediction)), chunk.pts,
                          chunk.durations)
        self.pts += chunk.pts
        self.durations += chunk.durations
        self.frames_done += len(chunk.pts)
        if closes:
            self.writer.close()
            self.checkpoints.finish(self.index, _state_arrays(state, self.pts, self.durations, self.frames_done,
                                                              finished))
            self.writer, self.pts, self.durations, self.index = None, [], [], self.index + 1
        if self.progress:
            self.progress(self.frames_done, self.info.frames)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


def _colorize_segments(src: Path, info: vio.VideoInfo, colorizer: ColorizerLike, options: VideoOptions,
                       checkpoints: Checkpoints, progress: ProgressFn | None) -> None:
    """Encode every segment not finished by an earlier run.

    Two stages overlap: this thread decodes a batch and predicts its ab while a second one recombines and
    encodes the batch before (at most two batches in flight, so memory stays bounded)."""
    stabilizer = Stabilizer(options.stabilize)
    done = checkpoints.done()
    last = done[-1][1] if done else None
    if last is not None and bool(last["finished"]):
        return
    frames_done = int(last["frames_done"]) if last is not None else 0
    start = int(last["pts"][-1]) + 1 if last is not None else None
    if last is not None:
        _restore(stabilizer, last)
    if progress:
        progress(frames_done, info.frames)
    sink = _SegmentSink(colorizer, info, options, checkpoints, len(done), frames_done, progress)
    in_segment = 0
    pending: Future[None] | None = None
    with ThreadPoolExecutor(1) as encoder:
        try:
            for chunk, is_last in _lookahead(vio.read_batches(src, info, batch_size(options, info), start)):
                prediction = stabilized(colorizer, chunk.pixels, stabilizer)
                in_segment += len(chunk.pts)
                closes = in_segment >= options.segment_frames or is_last
                in_segment = 0 if closes else in_segment
                if pending is not None:
                    pending.result()
                pending = encoder.submit(sink.add, chunk, prediction, closes, is_last, stabilizer.state)
            if pending is not None:
                pending.result()
        except BaseException:
            if pending is not None:
                wait([pending])  # the encoder thread must be idle before its writer is closed
            sink.abort()
            raise


def _lookahead(batches: Iterator[vio.FrameBatch]) -> Iterator[tuple[vio.FrameBatch, bool]]:
    """Each batch with a flag telling whether it is the last one."""
    previous = next(batches, None)
    for batch in batches:
        yield previous, False
        previous = batch
    if previous is not None:
        yield previous, True


def colorize_animation(src: Path, dst: Path, colorizer: ColorizerLike, *, palette: str = "shared",
                       dither: bool = True, stabilize: float = DEFAULT_STRENGTH,
                       progress: ProgressFn | None = None) -> Path:
    """Colorize every frame of an animated GIF/APNG/WebP into ``dst`` (format from its extension).

    Durations, loop count and transparency are kept; frames are stabilized like a video's.
    """
    src, dst = Path(src), Path(dst)
    anim = anio.load_animation(src)
    anio.format_for(dst)  # a bad --format fails before any work
    stabilizer = Stabilizer(stabilize)
    colored: list[np.ndarray] = []
    for start in range(0, len(anim.frames), BATCH):
        colored += list(colorize_frames(colorizer, np.stack(anim.frames[start:start + BATCH]), stabilizer))
        if progress:
            progress(len(colored), len(anim.frames))
    return anio.save_animation(anim, colored, dst, palette=palette, dither=dither)
