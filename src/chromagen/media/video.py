"""Video files in and out with PyAV: frames stream in batches, everything but the picture is copied.

Reading yields batches of RGB frames with their presentation timestamps (variable frame rate kept as is).
Writing happens in two steps so that a long job can stop and resume: colorized frames are encoded into
video-only segment files (each complete on disk or absent), and ``assemble`` muxes the segments' packets
with the source's audio and subtitle packets, copied untouched, into the final file, renamed into place
only when complete.
"""

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from heapq import heappop, heappush, merge
from pathlib import Path
from typing import Any

import numpy as np

from chromagen.errors import ChromagenError
from chromagen.media.files import atomic_path

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".vob", ".ts",
                              ".m2ts", ".mts", ".flv", ".3gp", ".wmv", ".asf", ".ogv"})
# Containers that cannot carry the colorized H.264 (WebM, Ogg: other codecs only; AVI, MPEG program streams,
# ASF, FLV: no B-frames, no H.264 in the form our segments hold it) or the source's copied sound: the copy
# goes into Matroska, which holds any of their streams. MP4, MOV, M4V, MKV, 3GP and MPEG-TS keep their own.
_OUTPUT_SUFFIX = dict.fromkeys((".webm", ".ogv", ".avi", ".mpg", ".mpeg", ".vob", ".flv", ".wmv", ".asf"), ".mkv")
SEGMENT_FORMAT = "mp4"  # keeps the time base and negative B-frame dts (Matroska rounds to ms, NUT shifts)
DEFAULT_CODEC = "libx264"
DEFAULT_CRF = 18
# x264/x265 speed preset: veryfast costs about a third of the CPU of FFmpeg's default (medium) per frame
# (measured in docs/video.md) for somewhat larger files at the same --crf.
DEFAULT_PRESET = "veryfast"
REORDER_FRAMES = 8  # decoded frames held to put B-frame times back in order (AVI); a few MB at 720p
_MAX_CRF = {"libx264": 51, "libx265": 51, "libvpx-vp9": 63, "libsvtav1": 63}  # the encoders that take --crf
_PRESET_CODECS = ("libx264", "libx265")


def is_video_file(path: Path) -> bool:
    """True for files whose extension we read as video; content is checked only on open."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def output_path_for(target: Path) -> Path:
    """Where the colorized copy of a video goes: same name and container, or Matroska (``_OUTPUT_SUFFIX``)."""
    return target.with_suffix(_OUTPUT_SUFFIX.get(target.suffix.lower(), target.suffix))


def _av() -> Any:
    """PyAV, or one line saying which extra installs it."""
    try:
        import av
    except ImportError as exc:
        raise ChromagenError("video support needs PyAV: pip install 'chromagen[video]'") from exc
    av.logging.set_level(av.logging.PANIC)  # FFmpeg's own chatter; failures reach the user as ChromagenError
    return av


@dataclass(frozen=True)
class VideoInfo:
    """What must survive colorization: geometry, timing, rotation, depth, color tags and interlacing."""

    path: Path
    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None  # average frame rate, as the container states it
    frames: int  # as the container states it, else estimated from duration x rate (0 when unknown); progress only
    rotation: int  # display rotation, degrees counter-clockwise
    bit_depth: int  # 8, or 10+ for high-bit-depth sources (decoded to 16-bit RGB)
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    field_order: int = 0  # FFmpeg's AVFieldOrder once a frame is decoded: 2-5 interlaced (DVD, DV, broadcast)

    @property
    def top_field_first(self) -> bool | None:
        """None for progressive video; else whether the top field comes first (what the encoder must keep)."""
        return None if self.field_order not in _INTERLACED else self.field_order in (2, 4)


_INTERLACED = (2, 3, 4, 5)  # AV_FIELD_TT, BB, TB, BT


def _bit_depth(stream: Any) -> int:
    """Bits per component of the decoded pixel format (8 for yuv420p, 10 for yuv420p10le...)."""
    fmt = stream.codec_context.format
    return max((c.bits for c in fmt.components), default=8) if fmt is not None else 8


def _open_input(path: Path) -> Any:
    av = _av()
    if not path.is_file():
        raise ChromagenError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ChromagenError(f"{path}: empty file (0 bytes)")
    try:
        return av.open(str(path), "r")
    except av.error.FFmpegError as exc:
        raise ChromagenError(f"{path}: not a readable video (truncated or corrupt, no index: "
                             f"{exc.strerror or exc})") from None


def _video_stream(container: Any, path: Path) -> Any:
    """The film's stream, checked for everything that would fail half-way.

    FFmpeg's choice (``av_find_best_stream``), not the first video stream: a cover picture or a thumbnail
    track written before the film would otherwise be "colorized" into a one-frame video."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        raise ChromagenError(f"{path}: no video stream (contains {', '.join(kinds)})")
    stream = container.streams.best("video") or container.streams.video[0]
    if stream.codec_context is None or not stream.codec_context.codec.is_decoder:
        raise ChromagenError(f"{path}: unsupported video codec (no decoder for it in this FFmpeg build)")
    if stream.codec_context.width <= 0 or stream.codec_context.height <= 0:
        raise ChromagenError(f"{path}: video stream has no frame size (truncated or corrupt)")
    return stream


def _estimated_frames(stream: Any) -> int:
    """Matroska and WebM do not count frames: duration x average rate, for the progress bar."""
    container = stream.container
    seconds = (float(stream.duration * stream.time_base) if stream.duration
               else (container.duration or 0) / 1_000_000)
    return round(seconds * float(stream.average_rate)) if stream.average_rate else 0


def _info(path: Path, stream: Any, rotation: int) -> VideoInfo:
    """The stream's facts; call it after a frame is decoded, when the decoder knows the field order."""
    cc = stream.codec_context
    return VideoInfo(path=path, width=cc.width, height=cc.height, time_base=stream.time_base, rate=stream.average_rate,
                     frames=stream.frames or _estimated_frames(stream), rotation=rotation,
                     bit_depth=_bit_depth(stream),
                     colorspace=cc.colorspace, color_range=cc.color_range, color_primaries=cc.color_primaries,
                     color_trc=cc.color_trc, field_order=cc.field_order or 0)


def _first_frame(container: Any, stream: Any, path: Path) -> Any:
    """Decode one frame: proves the stream decodes, and carries the display rotation (phone clips)."""
    for frame in container.decode(stream):
        return frame
    raise ChromagenError(f"{path}: the video stream has no frames")


def probe_video(path: Path) -> VideoInfo:
    """Open and check a video without decoding more than one frame; every problem is one ChromagenError."""
    av = _av()
    with _open_input(path) as container:
        stream = _video_stream(container, path)
        try:
            return _info(path, stream, int(round(_first_frame(container, stream, path).rotation)) % 360)
        except av.error.FFmpegError as exc:
            raise ChromagenError(f"{path}: cannot decode video ({exc.strerror or exc})") from None


@dataclass
class FrameBatch:
    """Consecutive decoded frames: N x H x W x 3 RGB (uint8, or uint16 for high-bit-depth sources)."""

    pixels: np.ndarray
    pts: list[int]
    durations: list[int]


def _rgb_format(info: VideoInfo) -> str:
    return "rgb24" if info.bit_depth <= 8 else "rgb48le"


def _sws_colorspace(code: int) -> str | None:
    """The swscale matrix for a stream's colorspace tag (BT.709 for most HD, else FFmpeg's BT.601 default)."""
    return "itu709" if code == 1 else None


def in_display_time(frames: Iterable[Any], depth: int = REORDER_FRAMES) -> Iterator[tuple[Any, int]]:
    """Decoded frames with their timestamps, which must increase: the decoder gives frames in display order.

    AVI has no presentation times, so a film with B-frames in it comes out with decode-order times on
    display-order frames (190, 220, 210, 230, 200...): the set of times is right, their order is not, and the
    encoder refuses them. Holding ``depth`` frames and giving each the smallest time seen puts them back in
    order (a well-formed film is unchanged). A time that still does not follow the previous one (repeated in
    a damaged or badly muxed file) drops its frame, as FFmpeg does: two frames cannot be shown at one time.
    Frames without a time are dropped too.
    """
    held: deque[Any] = deque()
    times: list[int] = []
    last: int | None = None

    def release() -> Iterator[tuple[Any, int]]:
        nonlocal last
        frame, stamp = held.popleft(), heappop(times)
        if last is None or stamp > last:
            last = stamp
            yield frame, stamp

    for frame in frames:
        if frame.pts is None:
            continue
        held.append(frame)
        heappush(times, frame.pts)
        if len(held) > depth:
            yield from release()
    while held:
        yield from release()


def read_batches(path: Path, info: VideoInfo, batch: int, start_pts: int | None = None) -> Iterator[FrameBatch]:
    """Decode the first video stream into batches of ``batch`` frames, from ``start_pts`` when resuming.

    Memory holds one batch (and ``REORDER_FRAMES`` decoded frames) at a time whatever the length of the film.
    """
    av = _av()
    with _open_input(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        if start_pts is not None:
            container.seek(start_pts, stream=stream, backward=True)
        fmt, space = _rgb_format(info), _sws_colorspace(info.colorspace)
        frames: list[np.ndarray] = []
        pts: list[int] = []
        durations: list[int] = []
        try:
            for frame, stamp in in_display_time(container.decode(stream)):
                if start_pts is not None and stamp < start_pts:
                    continue
                frames.append(frame.reformat(format=fmt, src_colorspace=space).to_ndarray())
                pts.append(stamp)
                durations.append(frame.duration or 0)
                if len(frames) == batch:
                    yield FrameBatch(np.stack(frames), pts, durations)
                    frames, pts, durations = [], [], []
        except av.error.FFmpegError as exc:
            raise ChromagenError(f"{path}: cannot decode video ({exc.strerror or exc})") from None
        if frames:
            yield FrameBatch(np.stack(frames), pts, durations)


def check_crf(codec: str, crf: int) -> int:
    """``crf`` when ``codec`` takes it in that range (x264 and x265 0-51, VP9 and SVT-AV1 0-63; others ignore it)."""
    if codec in _MAX_CRF and not 0 <= crf <= _MAX_CRF[codec]:
        raise ChromagenError(f"--crf {crf}: {codec} takes 0 to {_MAX_CRF[codec]} (lower = better, bigger)")
    return crf


def check_codec(codec: str) -> Any:
    """The encoder (a PyAV Codec), which must exist in this FFmpeg build."""
    av = _av()
    try:
        return av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        raise ChromagenError(f"--codec {codec!r} is not a video encoder of this FFmpeg build; try libx264, "
                             "libx265 or libvpx-vp9") from None


def encoder_pix_fmt(codec: str, info: VideoInfo) -> str:
    """4:2:0 at the source's depth (8 or 10 bit), what every player plays. An odd width or height cannot be
    subsampled 4:2:0, so such a film keeps its exact size in 4:4:4 (x264's High 4:4:4: FFmpeg-based players
    such as VLC and mpv play it, browsers do not)."""
    formats = [f.name for f in check_codec(codec).video_formats or []]
    odd = bool(info.width % 2 or info.height % 2)
    wanted = ("yuv444p" if odd else "yuv420p") + ("" if info.bit_depth <= 8 else "10le")
    if wanted not in formats:
        size = f"{info.width}x{info.height} " if odd else ""
        raise ChromagenError(f"--codec {codec!r} cannot write {size}{wanted} video (the source is "
                             f"{info.bit_depth}-bit{', odd-sized' if odd else ''}); try libx264")
    return wanted


class SegmentWriter:
    """Encodes colorized frames (with their original timestamps) into one video-only segment file."""

    def __init__(self, path: Path, info: VideoInfo, codec: str = DEFAULT_CODEC, crf: int = DEFAULT_CRF,
                 preset: str = DEFAULT_PRESET) -> None:
        av = _av()
        self.path, self.info = path, info
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._out = av.open(str(self._tmp), "w", format=SEGMENT_FORMAT)
        options = {"crf": str(check_crf(codec, crf))} if codec in _MAX_CRF else {}
        if codec in _PRESET_CODECS:
            options["preset"] = preset
        if codec == "libx264" and info.top_field_first is not None:  # fields stay fields: players deinterlace
            options["x264-params"] = f"interlaced=1:{'tff' if info.top_field_first else 'bff'}=1"
        self._stream = self._out.add_stream(codec, rate=info.rate, options=options)
        cc = self._stream.codec_context
        cc.width, cc.height, cc.pix_fmt = info.width, info.height, encoder_pix_fmt(codec, info)
        cc.time_base = info.time_base
        self._stream.time_base = info.time_base
        cc.colorspace, cc.color_range = info.colorspace, info.color_range
        cc.color_primaries, cc.color_trc = info.color_primaries, info.color_trc
        self._space = _sws_colorspace(info.colorspace)

    def write(self, pixels: np.ndarray, pts: list[int], durations: list[int]) -> None:
        """Encode N x H x W x 3 RGB frames (uint8 or uint16) at their source timestamps."""
        av = _av()
        fmt = "rgb24" if pixels.dtype == np.uint8 else "rgb48le"
        for rgb, p, d in zip(pixels, pts, durations):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=fmt)
            frame = frame.reformat(format=self._stream.codec_context.pix_fmt, dst_colorspace=self._space)
            frame.pts, frame.duration, frame.time_base = p, d, self.info.time_base
            self._out.mux(self._stream.encode(frame))

    def close(self) -> Path:
        """Flush the encoder and move the finished segment into place."""
        self._out.mux(self._stream.encode())
        self._out.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the unfinished segment (interrupted or failed)."""
        self._out.close()
        self._tmp.unlink(missing_ok=True)


_COVER_SUFFIXES = (".mp4", ".m4v")  # the MP4 muxer writes a cover picture back as one (others drop or fail)


def _copied_streams(container: Any, covers: bool) -> list[Any]:
    """Audio and subtitle streams, and with ``covers`` the cover pictures, copied packet for packet (data
    streams such as timecodes are dropped)."""
    cover = _av().stream.Disposition.attached_pic
    return [s for s in container.streams if s.type in ("audio", "subtitle")
            or (covers and s.type == "video" and s.disposition & cover)]


def _timed(packets: Iterator[Any], origin: int) -> Iterator[tuple[float, int, Any]]:
    """(dts in seconds, origin, packet) for merging several packet sources by decode time."""
    for packet in packets:
        if packet.dts is None and packet.size and packet.stream.type == "video":  # a cover picture: no time
            packet.pts = packet.dts = 0
        if packet.dts is None:  # the demuxer's end-of-stream flush packets
            continue
        yield float(packet.dts * packet.time_base), origin, packet


def assemble(src: Path, segments: list[Path], durations: dict[int, int], dst: Path, info: VideoInfo) -> Path:
    """Mux the segments' video packets and the source's audio/subtitle packets into ``dst`` atomically.

    ``durations`` (source frame pts -> duration, source time base) are put back on the video packets: the
    encoder does not carry them through frame reordering, and the last one sets the video's duration.
    """
    av = _av()
    with atomic_path(dst, dst.suffix) as tmp, _open_input(src) as source, av.open(str(tmp), "w") as out:
        first = av.open(str(segments[0]))
        video = out.add_stream_from_template(first.streams.video[0])
        video.time_base = info.time_base
        if info.rotation:
            video.set_display_rotation(info.rotation)
        first.close()
        copied = _copied_streams(source, covers=dst.suffix.lower() in _COVER_SUFFIXES)
        targets = {s.index: out.add_stream_from_template(s) for s in copied}
        for s in copied:
            targets[s.index].metadata.update(s.metadata)
            targets[s.index].disposition = s.disposition
        out.metadata.update(source.metadata)
        source_packets = _timed(source.demux(*copied), 1) if copied else iter(())
        for _, origin, packet in merge(_timed(_segment_packets(segments), 0), source_packets,
                                       key=lambda item: (item[0], item[1])):
            if origin == 0:
                _restore_duration(packet, durations, info.time_base)
                packet.stream = video
            else:
                packet.stream = targets[packet.stream.index]
            out.mux(packet)
    return dst


def _restore_duration(packet: Any, durations: dict[int, int], time_base: Fraction) -> None:
    """Set a video packet's duration to its source frame's (both in the packet's own time base)."""
    pts = round(packet.pts * packet.time_base / time_base) if packet.pts is not None else None
    if pts in durations:
        packet.duration = round(durations[pts] * time_base / packet.time_base)


def _segment_packets(segments: list[Path]) -> Iterator[Any]:
    """Every video packet of every segment, in order."""
    av = _av()
    for path in segments:
        with av.open(str(path)) as seg:
            yield from seg.demux(seg.streams.video[0])
