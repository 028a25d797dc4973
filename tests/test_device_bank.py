"""The device image bank: photos decoded once, random resized crops + flips drawn batch-wise on the device."""

import tarfile
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from chromagen.data import find_images
from chromagen.data.device_bank import DeviceImageBank
from tests.conftest import smooth_color_image



def _bank(images: np.ndarray, crop_size: int, min_scale: float = 0.25) -> DeviceImageBank:
    """A bank straight from uint8 (N, S, S, 3) arrays, skipping the decoding."""
    return DeviceImageBank(torch.tensor(images).permute(0, 3, 1, 2).contiguous(), crop_size, min_scale)


def test_decodes_folders_and_tar_shards_to_squares(tmp_path: Path, image_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    bank = DeviceImageBank.from_refs(find_images([image_dir]), crop_size=24, store_size=32, workers=2,
                                     progress=lambda done, total: calls.append((done, total)))
    assert bank.images.shape == (12, 3, 32, 32) and bank.images.dtype == torch.uint8
    assert calls[-1] == (12, 12) and len(calls) == 12
    batch = bank.sample(5, torch.Generator().manual_seed(0))
    assert batch.shape == (5, 3, 24, 24) and batch.dtype == torch.uint8

    shard = tmp_path / "train-000.tar"
    with tarfile.open(shard, "w") as tar:
        for path in sorted(image_dir.iterdir()):
            tar.add(path, arcname=path.name)
    from_tar = DeviceImageBank.from_refs(find_images([shard]), crop_size=24, store_size=32, workers=1)
    assert torch.equal(from_tar.images, bank.images)


def test_unreadable_images_are_left_out(image_dir: Path) -> None:
    (image_dir / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.warns(UserWarning, match="1 of 13"):
        bank = DeviceImageBank.from_refs(find_images([image_dir]), crop_size=16, workers=1)
    assert len(bank) == 12


def test_crops_of_a_constant_photo_keep_its_color(tmp_path: Path) -> None:
    """Crops never sample outside the photo: a constant (non-square) photo gives only its own color."""
    color = (200, 30, 90)
    Image.new("RGB", (50, 30), color).save(tmp_path / "flat.png")
    bank = DeviceImageBank.from_refs(find_images([tmp_path]), crop_size=16, store_size=20, min_scale=0.05,
                                     workers=1)
    batch = bank.sample(64, torch.Generator().manual_seed(1))
    assert torch.equal(batch, torch.tensor(color, dtype=torch.uint8).view(1, 3, 1, 1).expand_as(batch))


def test_crop_geometry_follows_random_resized_crop() -> None:
    bank = _bank(np.zeros((1, 16, 16, 3), np.uint8), crop_size=8, min_scale=0.25)
    theta = bank.crop_params(2000, torch.Generator().manual_seed(2))
    width, height = theta[:, 0, 0].abs(), theta[:, 1, 1]
    area, aspect = width * height, width / height
    assert area.min() >= 0.25 - 1e-6 and area.max() <= 1 + 1e-6
    assert aspect.min() >= 3 / 4 - 1e-6 and aspect.max() <= 4 / 3 + 1e-6
    assert (theta[:, 0, 2].abs() + width).max() <= 1 + 1e-6  # inside the image
    assert (theta[:, 1, 2].abs() + height).max() <= 1 + 1e-6
    assert area.min() < 0.3 and area.max() > 0.9  # the whole range is used


def test_flips_happen_about_half_the_time() -> None:
    ramp = np.broadcast_to(np.linspace(0, 255, 32).astype(np.uint8)[None, None, :, None], (1, 32, 32, 3))
    batch = _bank(ramp, crop_size=16, min_scale=0.5).sample(400, torch.Generator().manual_seed(3)).float()
    flipped = batch[:, 0, :, 0].mean(1) > batch[:, 0, :, -1].mean(1)  # bright on the left
    assert 0.4 < flipped.float().mean().item() < 0.6


def test_sampling_is_deterministic_and_the_stream_resumes() -> None:
    images = np.stack([smooth_color_image(24, 24, seed=i) for i in range(6)])
    bank = _bank(images, crop_size=16)
    first, again = (bank.sample(8, torch.Generator().manual_seed(4)) for _ in range(2))
    assert torch.equal(first, again)
    assert not torch.equal(first, bank.sample(8, torch.Generator().manual_seed(5)))
    stream = list(islice(bank.batches(4, seed=7), 5))
    assert all(torch.equal(a, b) for a, b in zip(stream[3:], islice(bank.batches(4, seed=7, start=3), 2)))
    assert not torch.equal(stream[0], next(bank.batches(4, seed=7, rank=1)))  # ranks draw different crops


def test_decoding_threads_run_single_threaded_torch_ops(image_dir: Path, monkeypatch) -> None:
    """Each decoding thread's resize must not fan out over every core (cores^2 threads stalled the GPU host)."""
    from chromagen.data import device_bank

    seen: list[int] = []
    real = device_bank.decode_square

    def spy(ref, size):
        seen.append(torch.get_num_threads())
        return real(ref, size)

    monkeypatch.setattr(device_bank, "decode_square", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        device_bank.DeviceImageBank.from_refs(find_images([str(image_dir)]), 16, workers=2)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2  # restored for training
    finally:
        torch.set_num_threads(before)
