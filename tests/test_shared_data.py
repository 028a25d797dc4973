"""Opt-in smoke tests on ../shared/data (CHROMAGEN_SHARED_DATA=1): the real shards and bench photos."""

from pathlib import Path

import pytest

from chromagen.data import CropDataset, find_images
from chromagen.evaluation.runner import Protocol, evaluate
from tests.conftest import SHARED, shared_data_enabled

pytestmark = pytest.mark.skipif(not shared_data_enabled(), reason="set CHROMAGEN_SHARED_DATA=1 to read ../shared/data")


def test_training_shards_index_and_decode() -> None:
    refs = find_images(sorted((SHARED / "data" / "train").glob("train-*.tar"))[:1])
    assert len(refs) > 4000
    assert CropDataset(refs, 128, train=True)[0].shape == (3, 128, 128)


def test_bundled_model_beats_gray_on_kodak24() -> None:
    result, _ = evaluate(["gray", "default"], Path(SHARED / "data" / "bench" / "kodak24"), Protocol())
    assert result["models"]["default"]["psnr"] > result["models"]["gray"]["psnr"]
    assert result["models"]["default"]["lpips"] < result["models"]["gray"]["lpips"]
