"""Training data: image sources (tar shards, folders) and crop datasets."""

from chromagen.data.datasets import CropDataset, decode_rgb
from chromagen.data.sources import ImageRef, find_images, index_tar

__all__ = ["CropDataset", "ImageRef", "decode_rgb", "find_images", "index_tar"]
