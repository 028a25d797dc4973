"""Datasets yield uint8 RGB crops; Lab conversion happens batch-wise on the training device."""

import io
import random

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.transforms import v2

from chromagen.data.samplers import decode_key
from chromagen.data.sources import ImageRef
from chromagen.errors import ChromagenError

MAX_SUBSTITUTES = 10


def decode_rgb(data: bytes) -> Tensor:
    """Encoded bytes -> uint8 tensor (3, H, W)."""
    with Image.open(io.BytesIO(data)) as im:
        arr = np.asarray(im.convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


class CropDataset(Dataset[Tensor]):
    """Fixed-size uint8 RGB crops.

    Training uses random resized crops: zooming in by up to ``1/sqrt(min_scale)`` shows the model
    objects larger than in the 128 px source photos, matching what it meets at a larger working size.
    Evaluation takes a deterministic center square resized to ``size``.
    """

    def __init__(self, refs: list[ImageRef], size: int, train: bool, min_scale: float = 0.25, seed: int = 0) -> None:
        self.refs = refs
        self.seed = seed
        self.size = size
        self.train = train
        if train:
            self.transform = v2.Compose([
                v2.RandomResizedCrop(size, scale=(min_scale, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
                v2.RandomHorizontalFlip(),
            ])
        else:
            self.transform = v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size)])

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, key: int) -> Tensor:
        """``key`` is an index, or for training a :mod:`samplers` key that also fixes the augmentation."""
        index, position = decode_key(key, len(self.refs))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + position)  # same crop for the same stream position
            generator = random.Random(position)
            # One unreadable photo must not stop a long run: substitute another, deterministically.
            for _ in range(MAX_SUBSTITUTES + 1):
                try:
                    return self.transform(decode_rgb(self.refs[index].read_bytes()))
                except (OSError, ValueError):
                    index = generator.randrange(len(self.refs)) if self.train else (index + 1) % len(self.refs)
        raise ChromagenError(f"{MAX_SUBSTITUTES + 1} unreadable images in a row; is the data corrupt?")
