"""All training photos decoded once into one uint8 tensor on the training device, cropped there.

The DataLoader path decodes a JPEG and runs a random resized crop on a CPU core for every sample; on a
GPU that trains tens of thousands of 128 px images a second no CPU keeps up. The bank decodes each photo
once (in parallel), keeps it as uint8 on the device (34.7k photos at 128x128: 1.7 GB) and draws random
resized crops + flips for a whole batch with one ``grid_sample``.

Trade-off: every photo is stored as a fixed ``store_size`` square (short side resized, center cropped),
so crops of non-square photos never reach the parts outside the center square that the DataLoader path
can crop from, and detail beyond ``store_size`` is lost for larger sources. For our data (short side
128 px, mostly square) ``store_size = crop_size`` keeps every pixel of the square photos without
resampling, and all crops then only enlarge, where bilinear sampling needs no antialiasing. A larger
``store_size`` keeps more detail for zoomed-in crops of large sources, at a memory cost growing with its
square, but full-size crops are then shrunk by plain bilinear sampling, which aliases a little.
"""

import math
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from chromagen.data.datasets import decode_rgb
from chromagen.data.sources import ImageRef
from chromagen.errors import ChromagenError

Progress = Callable[[int, int], None]  # (images done, total)


def decode_square(ref: ImageRef, size: int) -> Tensor | None:
    """uint8 (3, size, size): short side resized to ``size``, center cropped; None if unreadable."""
    try:
        image = decode_rgb(ref.read_bytes())
    except (OSError, ValueError):
        return None
    return TF.center_crop(TF.resize(image, size, antialias=True), size)


@contextmanager
def single_threaded_ops() -> Iterator[None]:
    """torch ops on one thread each while the decoding threads run, then the previous setting again.

    Each decoding thread's ops could otherwise fan out over all cores (cores^2 threads per process). On a
    16-core GPU host (2026-11-27), six training processes decoding at once with default thread settings got
    through fewer than 16k of 19k photos in 7 minutes; three processes under OMP_NUM_THREADS=1 decoded them
    in seconds. The cause was not isolated further (the two runs differ in process count too).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def step_seed(seed: int, step: int, rank: int) -> int:
    """A well-mixed seed for one batch: unlike module.py's affine formula for stochastic layers, so the
    crop stream and the dropout stream never start from the same seed (same Mersenne Twister numbers)."""
    return int(np.random.SeedSequence((seed, step, rank)).generate_state(1, np.uint64)[0])


class DeviceImageBank:
    """uint8 RGB squares (N, 3, S, S) on one device, sampled as random resized crops with flips."""

    def __init__(self, images: Tensor, crop_size: int, min_scale: float = 0.25) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3 or not len(images):
            raise ChromagenError(f"expected a non-empty uint8 (N, 3, S, S) tensor, got {images.dtype} "
                                 f"{tuple(images.shape)}")
        self.images = images
        self.crop_size = crop_size
        self.min_scale = min_scale

    @classmethod
    def from_refs(cls, refs: list[ImageRef], crop_size: int, store_size: int | None = None, min_scale: float = 0.25,
                  device: torch.device | str = "cpu", workers: int | None = None,
                  progress: Progress | None = None) -> "DeviceImageBank":
        """Decode ``refs`` on ``workers`` threads (PIL and torch release the GIL) and move them to ``device``.

        Unreadable photos are left out with a warning, as a corrupt file must not stop a long run.
        """
        size = store_size or crop_size
        images = torch.empty((len(refs), 3, size, size), dtype=torch.uint8)
        kept = 0
        with single_threaded_ops(), ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
            for done, image in enumerate(pool.map(lambda ref: decode_square(ref, size), refs), 1):
                if image is not None:
                    images[kept] = image
                    kept += 1
                if progress is not None:
                    progress(done, len(refs))
        if kept == 0:
            raise ChromagenError(f"none of the {len(refs)} training images could be read; is the data corrupt?")
        if kept < len(refs):
            warnings.warn(f"{len(refs) - kept} of {len(refs)} training images are unreadable and left out")
        return cls(images[:kept].to(device), crop_size, min_scale)

    def __len__(self) -> int:
        return len(self.images)

    def crop_params(self, batch_size: int, generator: torch.Generator) -> Tensor:
        """Per-sample affine maps (N, 2, 3) from output to source coordinates in [-1, 1].

        Like torchvision's RandomResizedCrop (area ``min_scale``..1, aspect 3/4..4/3, log-uniform) plus a
        horizontal flip, except that a side longer than the image is clamped to it instead of redrawn.
        """
        u = torch.rand(batch_size, 5, generator=generator, device=self.images.device)
        area = self.min_scale + (1 - self.min_scale) * u[:, 0]
        aspect = torch.exp(math.log(3 / 4) + math.log(16 / 9) * u[:, 1])
        width = torch.sqrt(area * aspect).clamp(max=1)  # fractions of the side: half-extents in [-1, 1]
        height = torch.sqrt(area / aspect).clamp(max=1)
        center_x = (1 - width) * (2 * u[:, 2] - 1)
        center_y = (1 - height) * (2 * u[:, 3] - 1)
        flip = torch.where(u[:, 4] < 0.5, -1.0, 1.0)
        zero = torch.zeros_like(width)
        return torch.stack([torch.stack([width * flip, zero, center_x], 1),
                            torch.stack([zero, height, center_y], 1)], 1)

    def sample(self, batch_size: int, generator: torch.Generator) -> Tensor:
        """uint8 (N, 3, crop, crop) random resized crops of random photos, all computed on the bank's device.

        ``generator`` must live on the bank's device; the same seed gives the same batch.
        """
        index = torch.randint(len(self.images), (batch_size,), generator=generator, device=self.images.device)
        theta = self.crop_params(batch_size, generator)
        grid = F.affine_grid(theta, [batch_size, 3, self.crop_size, self.crop_size], align_corners=False)
        # "border" padding: bilinear taps half a pixel past a crop at the image edge repeat the edge pixel.
        crops = F.grid_sample(self.images[index].float(), grid, mode="bilinear", padding_mode="border",
                              align_corners=False)
        return crops.round_().clamp_(0, 255).to(torch.uint8)

    def batches(self, batch_size: int, seed: int, start: int = 0, rank: int = 0) -> Iterator[Tensor]:
        """Endless batches; batch ``k`` is a pure function of (seed, start + k, rank), so a run resumed at
        ``start`` = batches already trained continues the same stream, and DDP ranks draw different crops."""
        generator = torch.Generator(device=self.images.device)
        step = start
        while True:
            generator.manual_seed(step_seed(seed, step, rank))
            yield self.sample(batch_size, generator)
            step += 1
