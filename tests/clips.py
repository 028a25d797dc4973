"""Synthetic clips with known color ground truth: pans and zooms over packaged photos, a sine tone, cuts.

Shared by the video tests and ``benchmarks/video_throughput.py``; nothing is downloaded or committed.
"""

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

# scikit-image ships these photos with its wheel ([dev] extra).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


@dataclass(frozen=True)
class Shot:
    """``frames`` frames of one photo, the view moving from ``start`` to ``end`` (x, y, zoom in [0, 1])."""

    photo: str
    frames: int
    start: tuple[float, float, float] = (0.0, 0.5, 0.0)
    end: tuple[float, float, float] = (1.0, 0.5, 0.0)


@dataclass
class ClipSpec:
    """What to write; the defaults give a 2 s 640x360 clip with three shots (pan, zoom, pan) and AAC audio."""

    width: int = 640
    height: int = 360
    fps: int = 25
    shots: tuple[Shot, ...] = (Shot("astronaut", 18, (0.0, 0.5, 0.4), (1.0, 0.5, 0.4)),
                               Shot("coffee", 16, (0.5, 0.5, 0.0), (0.5, 0.4, 0.6)),
                               Shot("chelsea", 16, (1.0, 0.3, 0.3), (0.0, 0.6, 0.3)))
    audio: bool = True
    audio_codec: str = "aac"  # mono, 44.1 kHz
    subtitles: bool = False  # one cue, written as a raw packet (SRT text, or mov_text in MP4/MOV)
    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    rotation: int = 0
    frame_pts: list[int] | None = None  # explicit pts in ticks (variable frame rate); None = constant
    ticks: int = 10  # time base 1/fps/ticks (MPEG-1/2 need 1: their time base must be a standard frame rate)
    gray: bool = False  # black-and-white film: frames reduced to their luma
    cover: bool = False  # a one-frame MJPEG picture track written before the film (a thumbnail, cover art)
    options: dict[str, str] = field(default_factory=lambda: {"crf": "18", "preset": "veryfast"})


def photo(name: str) -> Image.Image:
    """A packaged RGB photo from scikit-image."""
    from skimage import data

    arr = getattr(data, name)()
    return Image.fromarray(arr[..., :3] if arr.ndim == 3 else np.stack([arr] * 3, axis=2))


def render_frames(spec: ClipSpec):
    """Yield uint8 RGB frames (H x W x 3): each shot moves a fixed-aspect window across its photo."""
    aspect = spec.width / spec.height
    for shot in spec.shots:
        im = photo(shot.photo)
        pw, ph = im.size
        for i in range(shot.frames):
            t = i / max(1, shot.frames - 1)
            x, y, zoom = (a + (b - a) * t for a, b in zip(shot.start, shot.end))
            h = ph * (1.0 - 0.6 * zoom) * min(1.0, pw / aspect / ph)
            w = h * aspect
            left, top = x * (pw - w), y * (ph - h)
            view = im.resize((spec.width, spec.height), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h))
            yield np.asarray(view.convert("L").convert("RGB") if spec.gray else view)


def frame_count(spec: ClipSpec) -> int:
    return sum(s.frames for s in spec.shots)


def write_clip(path: Path, spec: ClipSpec | None = None) -> Path:
    """Encode the clip (H.264 by default) with an optional mono sine AAC track and an SRT subtitle stream."""
    import av

    spec = spec or ClipSpec()
    n = frame_count(spec)
    with av.open(str(path), "w") as out:
        cover = out.add_stream("mjpeg", rate=1) if spec.cover else None  # every stream before the first packet
        video = out.add_stream(spec.codec, rate=spec.fps, options=spec.options)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, spec.pix_fmt
        tick = Fraction(1, spec.fps * spec.ticks)
        video.codec_context.time_base = tick
        if spec.rotation:
            video.set_display_rotation(spec.rotation)
        audio = out.add_stream(spec.audio_codec, rate=44100, layout="mono") if spec.audio else None
        subs = out.add_mux_stream("mov_text" if path.suffix in (".mp4", ".mov") else "srt") if spec.subtitles else None
        if cover is not None:
            _write_cover(out, cover)
        pts = spec.frame_pts or [spec.ticks * i for i in range(n)]
        for i, rgb in enumerate(render_frames(spec)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = pts[i], tick
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio is not None:
            seconds = (pts[-1] + spec.ticks) * tick
            t = np.arange(int(44100 * seconds)) / 44100
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, tone.size, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 44100, start
                out.mux(audio.encode(chunk))
            out.mux(audio.encode())
        if subs is not None:
            text = b"chromagen"
            cue = av.Packet(len(text).to_bytes(2, "big") + text if path.suffix in (".mp4", ".mov") else text)
            cue.stream, cue.time_base, cue.pts, cue.dts, cue.duration = subs, Fraction(1, 1000), 0, 0, 1000
            out.mux(cue)
    return path


def _write_cover(out, cover) -> None:
    """A 64 x 64 one-frame MJPEG track with the attached-picture flag (Matroska keeps it as a video track)."""
    import av

    cover.width, cover.height, cover.pix_fmt = 64, 64, "yuvj420p"
    cover.disposition = av.stream.Disposition.attached_pic
    picture = av.VideoFrame.from_ndarray(np.asarray(photo("rocket").resize((64, 64))), format="rgb24")
    picture = picture.reformat(format="yuvj420p")
    picture.pts = 0
    for packet in [*cover.encode(picture), *cover.encode()]:
        out.mux(packet)


if __name__ == "__main__":  # python -m tests.clips OUT.mp4 [--gray]: the acceptance clip, for the docs' commands
    import sys

    write_clip(Path(sys.argv[1]), ClipSpec(gray="--gray" in sys.argv))
