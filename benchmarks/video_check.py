"""Compare a colorized video with its source: frames, timestamps, duration, audio packets, colorfulness.

    python benchmarks/video_check.py SRC.mp4 OUT.mp4 [--model default] [--strip docs/video-strip.jpg]

Colorfulness of the output frames is compared with colorizing the source frames one by one as images
(``Colorizer.colorize``). ``--strip`` writes one frame per shot as gray input | colorized | original.
"""

import argparse
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from chromagen.evaluation.metrics import colorfulness
from chromagen.inference import Colorizer


def frames(path: Path) -> tuple[list[np.ndarray], list, float]:
    with av.open(str(path)) as c:
        decoded = list(c.decode(video=0))
        return [f.to_ndarray(format="rgb24") for f in decoded], [f.pts * f.time_base for f in decoded], c.duration / 1e6


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(audio=0) if p.size] if c.streams.audio else []


def mean_colorfulness(images: list[np.ndarray]) -> float:
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    return float(colorfulness(batch).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="default")
    parser.add_argument("--strip", type=Path)
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 25, 42], help="frame indices for --strip")
    args = parser.parse_args()
    src, src_times, src_duration = frames(args.src)
    out, out_times, out_duration = frames(args.out)
    print(f"frames: {len(src)} -> {len(out)}; timestamps identical: {src_times == out_times}; "
          f"duration: {src_duration:.3f} s -> {out_duration:.3f} s")
    src_audio, out_audio = audio_packets(args.src), audio_packets(args.out)
    print(f"audio packets: {len(src_audio)} -> {len(out_audio)}, byte-identical: {src_audio == out_audio}")
    colorizer = Colorizer.from_pretrained(args.model, device="cpu")
    image_mode = [colorizer.colorize(f.astype(np.float32) / 255.0) for f in src]
    image_mode = [np.round(np.clip(f, 0, 1) * 255).astype(np.uint8) for f in image_mode]
    print(f"colorfulness: video {mean_colorfulness(out):.2f}, image mode {mean_colorfulness(image_mode):.2f}, "
          f"source {mean_colorfulness(src):.2f}")
    if args.strip:
        rows = [np.hstack([np.repeat(np.asarray(Image.fromarray(src[i]).convert("L"))[..., None], 3, axis=2),
                           out[i], src[i]]) for i in args.frames]
        Image.fromarray(np.vstack(rows)).resize((960, 180 * len(rows))).save(args.strip, quality=85)
        print(f"strip: {args.strip} (rows: frames {args.frames}; gray input | colorized video | original)")


if __name__ == "__main__":
    main()
