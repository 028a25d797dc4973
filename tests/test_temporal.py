"""Temporal logic on plain arrays: cut detection, flow-guided smoothing, the flicker metric."""

import numpy as np
import pytest

from chromagen.errors import ChromagenError
from chromagen.temporal import Stabilizer, flicker


def texture(seed: int, height: int = 72, width: int = 160) -> np.ndarray:
    """A smooth random gray texture (something optical flow can lock onto)."""
    import cv2

    noise = np.random.default_rng(seed).uniform(0, 255, (height // 4, width // 4)).astype(np.float32)
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def pan(seed: int, frames: int, step: int = 2, width: int = 96) -> np.ndarray:
    """Frames of a window moving right by ``step`` px over one texture."""
    base = texture(seed)
    return np.stack([base[:, i * step: i * step + width] for i in range(frames)])


def noisy_ab(grays: np.ndarray, color: tuple[float, float], noise: float, seed: int = 0) -> np.ndarray:
    """One flat color per shot plus independent per-frame noise: what frame-by-frame prediction looks like."""
    rng = np.random.default_rng(seed)
    ab = np.empty((len(grays), 2, *grays.shape[1:]), np.float32)
    ab[:, 0], ab[:, 1] = color
    return ab + rng.normal(0, noise, ab.shape).astype(np.float32)


def test_cut_detected_only_between_shots() -> None:
    grays = np.concatenate([pan(0, 6), pan(1, 6)])
    stabilizer = Stabilizer()
    starts = []
    for gray in grays:
        stabilizer.step(np.zeros((2, *gray.shape), np.float32), gray)
        starts.append(stabilizer.new_shot)
    assert [i for i, s in enumerate(starts) if s] == [0, 6]


def test_stabilizer_lowers_flicker_without_losing_color() -> None:
    grays = pan(0, 12)
    ab = noisy_ab(grays, (20.0, -30.0), noise=4.0)
    smoothed = Stabilizer(0.7)(ab, grays)
    assert flicker(smoothed) < 0.6 * flicker(ab)
    assert np.allclose(smoothed.mean(axis=(0, 2, 3)), (20.0, -30.0), atol=0.5)  # same colors, not washed out


def test_colors_do_not_cross_a_cut() -> None:
    grays = np.concatenate([pan(0, 6), pan(1, 6)])
    ab = np.concatenate([noisy_ab(grays[:6], (40.0, 40.0), 0.0), noisy_ab(grays[6:], (-40.0, 0.0), 0.0)])
    smoothed = Stabilizer(0.9)(ab, grays)
    assert np.array_equal(smoothed[6], ab[6])  # the new shot starts from its own prediction


def test_strength_zero_is_frame_by_frame() -> None:
    grays = pan(0, 5)
    ab = noisy_ab(grays, (10.0, 10.0), noise=3.0)
    assert np.array_equal(Stabilizer(0.0)(ab, grays), ab)


def test_state_carries_across_batches() -> None:
    """Two batches give what one batch gives (videos are processed batch by batch, segment by segment)."""
    grays = pan(0, 8)
    ab = noisy_ab(grays, (5.0, -5.0), noise=3.0)
    split = Stabilizer()
    assert np.allclose(np.concatenate([split(ab[:3], grays[:3]), split(ab[3:], grays[3:])]), Stabilizer()(ab, grays))


def test_flicker_is_mean_ab_change_within_shots() -> None:
    ab = np.zeros((4, 2, 2, 2), np.float32)
    ab[1] = 2.0
    ab[2] = 100.0  # a cut before frame 2: not counted
    ab[3] = 101.0
    assert flicker(ab, cuts=[2]) == pytest.approx((2.0 + 1.0) / 2)


def test_strength_out_of_range_is_refused() -> None:
    with pytest.raises(ChromagenError, match="--stabilize"):
        Stabilizer(1.0)


def test_motion_compensated_flicker_ignores_camera_motion() -> None:
    """Colors stuck to a panning texture: plain flicker sees the motion, the compensated one does not."""
    from chromagen.temporal import FlickerMeter

    grays = pan(0, 6)
    ab = np.stack([np.stack([g, 255 - g]).astype(np.float32) / 4 for g in grays])  # color follows the texture
    plain, compensated = FlickerMeter(), FlickerMeter()
    for a, g in zip(ab, grays):
        plain.add(a)
        compensated.add(a, gray=g)
    assert compensated.value < 0.25 * plain.value
