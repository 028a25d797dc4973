"""Video in, video out: timing, rotation, depth and the copied streams survive; bad files fail cleanly."""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from chromagen.errors import ChromagenError
from tests.clips import ClipSpec, Shot, frame_count, write_clip

SMALL = ClipSpec(width=160, height=96, shots=(Shot("astronaut", 6, (0.0, 0.5, 0.4), (1.0, 0.5, 0.4)),
                                              Shot("coffee", 5, (0.5, 0.5, 0.0), (0.5, 0.4, 0.6))))


@pytest.fixture(scope="module")
def colorizer(random_model_file: Path):
    from chromagen.inference import Colorizer

    return Colorizer.from_pretrained(str(random_model_file), device="cpu", size=48)


def run(src: Path, dst: Path, colorizer, **options) -> Path:
    from chromagen.sequence import VideoOptions, colorize_video

    return colorize_video(src, dst, colorizer, options=VideoOptions(**{"batch": 4, "segment_frames": 4, **options}))


def timing(path: Path) -> tuple[list[Fraction], float, int, tuple[int, int]]:
    """Presentation times of every frame, container duration, rotation, (width, height)."""
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        stream = c.streams.video[0]
        return ([f.pts * f.time_base for f in frames], c.duration / 1e6, frames[0].rotation,
                (stream.codec_context.width, stream.codec_context.height))


def packets(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(**{kind: 0}) if p.size]


def assert_clean(dst: Path) -> None:
    """Neither the output nor any temporary or checkpoint file is left behind."""
    assert list(dst.parent.iterdir()) == []


def test_frames_timestamps_duration_and_streams_survive(tmp_path: Path, colorizer) -> None:
    spec = ClipSpec(**{**SMALL.__dict__, "subtitles": True})
    src = write_clip(tmp_path / "clip.mp4", spec)
    dst = run(src, tmp_path / "out" / "clip.mp4", colorizer)
    assert timing(dst) == timing(src)
    assert len(timing(dst)[0]) == frame_count(spec)
    assert packets(dst, "audio") == packets(src, "audio") and packets(src, "audio")
    assert packets(dst, "subtitles") == packets(src, "subtitles") == [b"\x00\tchromagen"]
    with av.open(str(dst)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.name, cc.pix_fmt) == ("h264", "yuv420p")
    assert not (tmp_path / "out" / ".clip.mp4.parts").exists()


def test_colorized_frames_match_image_mode(tmp_path: Path, colorizer) -> None:
    """With stabilization off, each decoded frame is what colorizing the source frame as an image gives."""
    src = write_clip(tmp_path / "clip.mkv", SMALL)
    dst = run(src, tmp_path / "out.mkv", colorizer, stabilize=0.0, crf=0)
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        for fa, fb in zip(a.decode(video=0), b.decode(video=0)):
            frame = fa.to_ndarray(format="rgb24")
            expected = colorizer.recombine(frame, colorizer.predict_ab([frame])[0]).astype(float)
            assert np.abs(fb.to_ndarray(format="rgb24") - expected).mean() < 2.0


def test_variable_frame_rate_kept(tmp_path: Path, colorizer) -> None:
    n = frame_count(SMALL)
    pts = list(np.cumsum([0] + [10 if i % 3 else 30 for i in range(n - 1)]))
    src = write_clip(tmp_path / "vfr.mp4", ClipSpec(**{**SMALL.__dict__, "frame_pts": pts}))
    assert timing(run(src, tmp_path / "out" / "vfr.mp4", colorizer)) == timing(src)


def test_repeated_timestamps_are_dropped_not_fatal(tmp_path: Path, colorizer) -> None:
    """A badly muxed file shows two frames at one time; the encoder refused the second and the film failed."""
    n = frame_count(SMALL)
    pts = [10 * i for i in range(n)]
    pts[5] = pts[4]
    src = write_clip(tmp_path / "dup.mkv", ClipSpec(**{**SMALL.__dict__, "codec": "ffv1", "options": {},
                                                       "frame_pts": pts}))
    assert len(set(timing(src)[0])) == n - 1 < len(timing(src)[0])
    times = timing(run(src, tmp_path / "out" / "dup.mkv", colorizer))[0]
    assert times == sorted(set(timing(src)[0]))


def test_display_times_are_put_back_in_order_and_repeats_dropped() -> None:
    from types import SimpleNamespace

    from chromagen.media.video import in_display_time

    stamps = [0, 10, 40, 20, 30, 70, 50, 60, 60, None, 80, 100, 90]
    frames = [SimpleNamespace(pts=t, index=i) for i, t in enumerate(stamps)]
    out = list(in_display_time(frames, depth=2))
    assert [t for _, t in out] == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert [f.index for f, _ in out] == [0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 12]  # 60 twice: frame 7 drops; 9: no time


@pytest.mark.parametrize(("name", "video", "audio", "output"), [
    ("film.avi", "mpeg4", None, "film.mkv"),  # AVI cannot hold our H.264 segments (no Annex B, no B-frames)
    ("b-frames.avi", "libx264", "aac", "b-frames.mkv"),  # decode-order times on display-order frames
    ("film.mpg", "mpeg1video", "mp2", "film.mkv"),
    ("film.vob", "mpeg2video", "mp2", "film.mkv"),
    ("film.wmv", "wmv2", "mp2", "film.mkv"),
    ("film.flv", "flv", "aac", "film.mkv"),
    ("film.ogv", "libvpx", "flac", "film.mkv"),
    ("film.ts", "mpeg2video", "mp2", "film.ts"),
    ("film.3gp", "h263", "aac", "film.3gp"),
])
def test_old_containers_are_read_and_written_where_their_streams_fit(tmp_path: Path, colorizer, name: str,
                                                                    video: str, audio: str | None,
                                                                    output: str) -> None:
    spec = ClipSpec(**{**SMALL.__dict__, "width": 176, "height": 144, "codec": video, "options": {},
                       "audio": audio is not None, "audio_codec": audio or "aac",
                       "ticks": 1 if video.startswith("mpeg") and video != "mpeg4" else 10})
    src = write_clip(tmp_path / name, spec)
    from chromagen.media.video import output_path_for

    assert output_path_for(tmp_path / "out" / name) == tmp_path / "out" / output
    dst = run(src, tmp_path / "out" / output, colorizer)
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert [s.codec_context.name for s in c.streams.audio] == ([] if audio is None else [audio.removeprefix("lib")])
        assert len(list(c.decode(video=0))) == frame_count(spec)


@pytest.mark.parametrize(("fields", "order"), [("tff", 2), ("bff", 3), (None, 1)])  # AV_FIELD_TT, BB, PROGRESSIVE
def test_interlaced_video_stays_interlaced(tmp_path: Path, colorizer, fields: str | None, order: int) -> None:
    """DVD, DV and broadcast captures: flagged progressive, their fields showed as combs in every player."""
    options = {"x264-params": f"interlaced=1:{fields}=1"} if fields else {}
    src = write_clip(tmp_path / "tape.mkv", ClipSpec(**{**SMALL.__dict__, "options": options, "audio": False}))
    dst = run(src, tmp_path / "out" / "tape.mkv", colorizer)
    for path in (src, dst):
        with av.open(str(path)) as c:
            frames = list(c.decode(video=0))
            assert c.streams.video[0].codec_context.field_order == order
            assert all(f.interlaced_frame == (fields is not None) for f in frames)


def test_rotation_kept(tmp_path: Path, colorizer) -> None:
    src = write_clip(tmp_path / "phone.mov", ClipSpec(**{**SMALL.__dict__, "rotation": 90}))
    out = timing(run(src, tmp_path / "out" / "phone.mov", colorizer))
    assert out[2] == 90 and out == timing(src)


def test_a_cover_picture_before_the_film_is_not_taken_for_it(tmp_path: Path, colorizer) -> None:
    src = write_clip(tmp_path / "film.mkv", ClipSpec(**{**SMALL.__dict__, "cover": True, "audio": False}))
    with av.open(str(src)) as c:
        assert [(s.codec_context.name, s.codec_context.width) for s in c.streams.video] == [("mjpeg", 64),
                                                                                            ("h264", 160)]
    dst = run(src, tmp_path / "out" / "film.mkv", colorizer)
    times, _, _, size = timing(dst)
    assert len(times) == frame_count(SMALL) and size == (160, 96)


def test_an_mp4_s_cover_picture_is_copied(tmp_path: Path, colorizer) -> None:
    src = write_clip(tmp_path / "film.mp4", ClipSpec(**{**SMALL.__dict__, "cover": True}))
    dst = run(src, tmp_path / "out" / "film.mp4", colorizer)

    def covers(path: Path) -> list[bytes]:
        with av.open(str(path)) as c:
            pics = [s for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic]
            return [bytes(p) for p in c.demux(*pics) if p.size]

    assert len(covers(src)) == 1 and covers(dst) == covers(src)
    assert packets(dst, "audio") == packets(src, "audio") and len(timing(dst)[0]) == frame_count(SMALL)


def test_ten_bit_stays_ten_bit(tmp_path: Path, colorizer) -> None:
    src = write_clip(tmp_path / "hdr.mkv", ClipSpec(**{**SMALL.__dict__, "pix_fmt": "yuv420p10le", "audio": False}))
    dst = run(src, tmp_path / "out" / "hdr.mkv", colorizer)
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p10le"
    assert timing(dst) == timing(src)


def test_interrupted_job_resumes_where_it_stopped(tmp_path: Path, colorizer) -> None:
    from chromagen.sequence import VideoOptions, colorize_video

    src = write_clip(tmp_path / "clip.mp4", SMALL)
    dst = tmp_path / "out" / "clip.mp4"
    options = VideoOptions(batch=4, segment_frames=4)
    seen: list[int] = []

    def stop_after_two_segments(done: int, total: int) -> None:
        seen.append(done)
        if done >= 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(src, dst, colorizer, options=options, progress=stop_after_two_segments)
    assert not dst.exists()
    assert [p.name for p in dst.parent.iterdir()] == [".clip.mp4.parts"]
    resumed: list[int] = []
    colorize_video(src, dst, colorizer, options=options, progress=lambda done, total: resumed.append(done))
    assert resumed[0] == 8 and resumed[-1] == frame_count(SMALL)
    assert timing(dst) == timing(src)
    assert [p.name for p in dst.parent.iterdir()] == ["clip.mp4"]


def test_a_full_disk_keeps_the_finished_segments_and_the_rerun_resumes(tmp_path: Path, colorizer,
                                                                        monkeypatch) -> None:
    import errno

    import chromagen.sequence as sequence
    from chromagen.errors import WriteError

    src = write_clip(tmp_path / "clip.mp4", SMALL)
    dst = tmp_path / "out" / "clip.mp4"
    options = sequence.VideoOptions(batch=4, segment_frames=4)
    real = sequence.vio.assemble

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(sequence.vio, "assemble", disk_full)
    with pytest.raises(WriteError, match="clip.mp4: cannot write .No space left on device.; finished segments kept"):
        sequence.colorize_video(src, dst, colorizer, options=options)
    parts = dst.parent / ".clip.mp4.parts"
    assert sorted(p.name for p in parts.glob("seg-*.part")) == ["seg-00000.part", "seg-00001.part", "seg-00002.part"]
    monkeypatch.setattr(sequence.vio, "assemble", real)
    resumed: list[int] = []
    sequence.colorize_video(src, dst, colorizer, options=options, progress=lambda done, total: resumed.append(done))
    assert resumed == [] and timing(dst) == timing(src)  # nothing colorized again: every segment was kept
    assert [p.name for p in dst.parent.iterdir()] == ["clip.mp4"]


def test_a_checkpoint_marker_cut_short_starts_the_job_over(tmp_path: Path, colorizer) -> None:
    src = write_clip(tmp_path / "clip.mp4", SMALL)
    dst = tmp_path / "out" / "clip.mp4"
    parts = dst.parent / ".clip.mp4.parts"
    parts.mkdir(parents=True)
    (parts / "job.json").write_text('{"key": "ab')  # the disk filled up while it was written
    (parts / "seg-00000.part").write_bytes(b"stale")
    assert timing(run(src, dst, colorizer)) == timing(src)


def test_interruption_while_the_encoder_thread_works_keeps_finished_segments(tmp_path: Path, colorizer,
                                                                            monkeypatch) -> None:
    """Prediction (this thread) runs one batch ahead of encoding (a second thread); stopping the first mid-batch
    waits for the second, drops its open segment and keeps the finished ones."""
    import chromagen.sequence as sequence

    src = write_clip(tmp_path / "clip.mp4", SMALL)
    dst = tmp_path / "out" / "clip.mp4"
    options = sequence.VideoOptions(batch=2, segment_frames=4)
    calls = []
    real = sequence.stabilized

    def stop_at_the_fourth_batch(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(sequence, "stabilized", stop_at_the_fourth_batch)
    with pytest.raises(KeyboardInterrupt):
        sequence.colorize_video(src, dst, colorizer, options=options)
    parts = dst.parent / ".clip.mp4.parts"
    assert sorted(p.name for p in parts.iterdir()) == ["job.json", "seg-00000.npz", "seg-00000.part"]
    monkeypatch.setattr(sequence, "stabilized", real)
    resumed: list[int] = []
    sequence.colorize_video(src, dst, colorizer, options=options, progress=lambda done, total: resumed.append(done))
    assert resumed[0] == 4 and resumed[-1] == frame_count(SMALL)
    assert timing(dst) == timing(src)


def test_changed_options_start_over(tmp_path: Path, colorizer) -> None:
    from chromagen.sequence import VideoOptions, colorize_video

    src = write_clip(tmp_path / "clip.mp4", SMALL)
    dst = tmp_path / "out" / "clip.mp4"

    def stop(done: int, total: int) -> None:
        if done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(src, dst, colorizer, options=VideoOptions(batch=4, segment_frames=4), progress=stop)
    resumed: list[int] = []
    colorize_video(src, dst, colorizer, options=VideoOptions(batch=4, segment_frames=4, crf=30),
                   progress=lambda done, total: resumed.append(done))
    assert resumed[0] == 0


def _truncated(tmp: Path) -> Path:
    full = write_clip(tmp / "full.mp4", SMALL)
    cut = tmp / "in" / "truncated.mp4"
    cut.parent.mkdir()
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return cut


def _silence(path: Path, with_video_stream: bool) -> Path:
    """Half a second of AAC, with or without an (empty) H.264 video stream beside it."""
    path.parent.mkdir()
    with av.open(str(path), "w") as out:
        if with_video_stream:
            video = out.add_stream("libx264", rate=25)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=44100, layout="mono")
        out.start_encoding()
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path


def _audio_only(tmp: Path) -> Path:
    return _silence(tmp / "in" / "sound.mp4", with_video_stream=False)


def _no_frames(tmp: Path) -> Path:
    return _silence(tmp / "in" / "empty.mkv", with_video_stream=True)


def _odd_size(tmp: Path) -> Path:
    spec = ClipSpec(**{**SMALL.__dict__, "width": 161, "height": 97, "codec": "ffv1", "pix_fmt": "yuv444p",
                       "options": {}, "audio": False})
    (tmp / "in").mkdir()
    return write_clip(tmp / "in" / "odd.mkv", spec)


def _unknown_codec(tmp: Path) -> Path:
    spec = ClipSpec(**{**SMALL.__dict__, "codec": "mpeg4", "options": {}, "audio": False})
    good = write_clip(tmp / "good.avi", spec)
    path = tmp / "in" / "alien.avi"
    path.parent.mkdir()
    path.write_bytes(good.read_bytes().replace(b"FMP4", b"QQQQ"))
    return path


def test_an_odd_sized_film_keeps_its_size_in_4_4_4(tmp_path: Path, colorizer) -> None:
    """4:2:0 needs even sizes: such films used to be refused."""
    src = _odd_size(tmp_path)
    dst = run(src, tmp_path / "out" / "odd.mkv", colorizer)
    with av.open(str(dst)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.name, cc.pix_fmt, cc.width, cc.height) == ("h264", "yuv444p", 161, 97)
        assert len(list(c.decode(video=0))) == frame_count(SMALL)
    with pytest.raises(ChromagenError, match=r"--codec 'libvpx' cannot write 161x97 yuv444p video .*try libx264"):
        run(src, tmp_path / "out" / "vp8.mkv", colorizer, codec="libvpx")


@pytest.mark.parametrize(("make", "message"), [
    (_truncated, "truncated or corrupt"),
    (_audio_only, "no video stream (contains audio)"),
    (_no_frames, "has no frames"),
    (_unknown_codec, "unsupported video codec"),
])
def test_bad_input_is_one_line_and_no_output(tmp_path: Path, colorizer, make, message: str) -> None:
    src = make(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ChromagenError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        run(src, out / src.name, colorizer)
    assert str(src) in str(err.value) and "\n" not in str(err.value)
    assert_clean(out / src.name)


def test_unknown_output_codec_is_refused(tmp_path: Path, colorizer) -> None:
    src = write_clip(tmp_path / "clip.mp4", SMALL)
    with pytest.raises(ChromagenError, match="--codec 'nope' is not a video encoder"):
        run(src, tmp_path / "out" / "clip.mp4", colorizer, codec="nope")


def test_webm_output_goes_to_matroska() -> None:
    """H.264 is not allowed in WebM; Matroska (its superset) keeps everything else."""
    from chromagen.media.video import output_path_for

    assert output_path_for(Path("out/film.webm")) == Path("out/film.mkv")
    assert output_path_for(Path("out/film.MOV")) == Path("out/film.MOV")
