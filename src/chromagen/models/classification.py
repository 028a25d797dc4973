"""Zhang, Isola & Efros, "Colorful Image Colorization" (ECCV 2016): color as classification over ab bins.

Regressing ab averages the modes of a multimodal color (a car may be red or blue) into a dull brown.
Predicting a distribution over Q quantized ab bins, with the loss rebalanced toward rare saturated bins,
and decoding with an annealed mean (between the mean and the mode) keeps colors vivid.

Units: bin centers and the functions here work in Lab units (a, b within about +-110). The model's
``decode`` / ``predict_ab`` return normalized ab (``chromagen.color.normalize_ab``) like every generator.
"""

import functools
import math
from collections.abc import Iterable

import kornia.color
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.color import denormalize_ab, normalize_ab
from chromagen.models.common import UpBlock, pad_to_multiple
from chromagen.models.encoders import create_encoder
from chromagen.models.registry import register_model

AB_EXTENT = 110  # sRGB's a and b lie within +-110: bin centers span the grid multiples in that range


def _srgb_ab_points(steps: int = 17) -> Tensor:
    """ab of a grid over the RGB cube's surface (the gamut solid projects onto ab as its surface does)."""
    t = torch.linspace(0, 1, steps, dtype=torch.float64)
    u, v = (g.reshape(-1) for g in torch.meshgrid(t, t, indexing="ij"))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            channels = [u, v]
            channels.insert(axis, torch.full_like(u, value))
            faces.append(torch.stack(channels))
    rgb = torch.cat(faces, dim=1)[:, :, None]  # (3, P, 1): an image kornia can convert
    return kornia.color.rgb_to_lab(rgb)[1:, :, 0].T


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _convex_hull(points: Tensor) -> Tensor:
    """Counter-clockwise hull vertices of 2-D points (Andrew's monotone chain)."""
    pts = sorted(set(map(tuple, points.tolist())))

    def chain(seq: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return torch.tensor(chain(pts) + chain(reversed(pts)), dtype=torch.float64)


def _inside(hull: Tensor, points: Tensor) -> Tensor:
    """Which points lie in (or on) a counter-clockwise convex polygon."""
    edges = hull.roll(-1, dims=0) - hull
    rel = points[:, None, :] - hull[None]
    return (edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0] >= 0).all(dim=1)


@functools.lru_cache(maxsize=4)
def _gamut_bins(grid: int) -> Tensor:
    corners = torch.tensor([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=torch.float64) * grid
    hull = _convex_hull(_srgb_ab_points())
    dilated = _convex_hull((hull[:, None, :] + corners[None]).reshape(-1, 2))  # hull (+) [-grid, grid]^2
    span = (AB_EXTENT // grid) * grid
    centers = torch.arange(-span, span + 1, grid, dtype=torch.float64)
    grid_points = torch.cartesian_prod(centers, centers)
    return grid_points[_inside(dilated, grid_points)].float()


def ab_gamut_bins(grid: int = 10) -> Tensor:
    """In-gamut ab bin centers, (Q, 2) in Lab units, a-major order; Q = 313 at grid 10.

    Rule (reproduces Zhang's ``pts_in_hull.npy`` point for point, in the same order): a grid point is a bin
    when the square of half-side ``grid`` around it meets the convex hull of the sRGB gamut projected onto
    ab, i.e. when it is a corner of a grid cell that the gamut's hull reaches. Tighter rules give fewer
    bins: cells of half-side grid/2 meeting the gamut (any L in [0, 100] in gamut) give 262, centers
    inside the hull 233. The nearest bin center to a grid point is 0.09 ab units from the boundary.
    """
    return _gamut_bins(grid).clone()


def _lattice_index(flat: Tensor, bins: Tensor) -> Tensor:
    """(P,) index of the bin at each (P, 2) point's nearest lattice point, -1 where that point is no bin.

    The lattice is the coarsest square grid holding every bin (spacing: the gcd of their integer coordinates;
    none when they are not integers). Since every bin is a lattice point, a point whose nearest lattice point
    is a bin has that bin as its nearest bin."""
    index = torch.full((len(flat),), -1, dtype=torch.long, device=flat.device)
    if not torch.equal(bins.round(), bins):
        return index
    step = math.gcd(*bins.abs().long().flatten().tolist())
    if step == 0:
        return index
    cells = (bins / step).round().long().to(flat.device)
    low = cells.min(dim=0).values
    shape = cells.max(dim=0).values - low + 1
    table = torch.full(tuple(shape.tolist()), -1, dtype=torch.long, device=flat.device)
    table[cells[:, 0] - low[0], cells[:, 1] - low[1]] = torch.arange(len(bins), device=flat.device)
    point = (flat / step).round().long() - low
    inside = ((point >= 0) & (point < shape)).all(dim=1)
    index[inside] = table[point[inside, 0], point[inside, 1]]
    return index


def nearest_bin(ab: Tensor, bins: Tensor) -> Tensor:
    """(N, 2, H, W) ab in Lab units -> (N, H, W) index of the closest bin.

    Bins on a grid (``ab_gamut_bins``) are found by rounding, and every in-gamut color's nearest grid point
    is a bin; only the rest is measured against every bin (the prior over 2,000 photos: about 84 s -> 8.2 s,
    docs/family.md)."""
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
    index = _lattice_index(flat, bins.float())
    rest = index < 0
    if rest.any():
        index[rest] = torch.cdist(flat[rest], bins.to(flat)).argmin(dim=1)
    return index.view(ab.shape[0], *ab.shape[2:])


def soft_encode(ab: Tensor, bins: Tensor, k: int = 5, sigma: float = 5.0) -> Tensor:
    """(N, 2, H, W) ab in Lab units -> (N, Q, H, W) targets: Gaussian weights on the k nearest bins, summing to 1.

    Soft targets tell the network that neighboring bins are nearly as right as the closest one.
    """
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    dist, idx = torch.cdist(flat, bins.to(flat)).topk(k, dim=1, largest=False)
    weights = torch.softmax(-dist.square() / (2 * sigma**2), dim=1)  # exp(-d^2 / 2 sigma^2), normalized
    targets = torch.zeros(flat.shape[0], len(bins), dtype=flat.dtype, device=flat.device).scatter_(1, idx, weights)
    return targets.view(n, h, w, -1).permute(0, 3, 1, 2)


def empirical_prior(ab_batches: Iterable[Tensor], bins: Tensor) -> Tensor:
    """(Q,) fraction of pixels whose closest bin is q, over batches of (N, 2, H, W) ab in Lab units."""
    counts = torch.zeros(len(bins), dtype=torch.float64)
    for ab in ab_batches:
        counts += torch.bincount(nearest_bin(ab, bins).flatten(), minlength=len(bins)).double().cpu()
    if counts.sum() == 0:
        raise ValueError("empirical_prior needs at least one pixel")
    return (counts / counts.sum()).float()


def smooth_prior(prior: Tensor, bins: Tensor, sigma: float = 5.0) -> Tensor:
    """The prior blurred by a Gaussian of ``sigma`` ab units over the bin centers; mass is preserved."""
    kernel = torch.exp(-torch.cdist(bins, bins).square() / (2 * sigma**2)).to(prior)
    return (kernel / kernel.sum(dim=0, keepdim=True)) @ prior  # column j spreads bin j's mass


def rebalancing_weights(prior: Tensor, sigma: float = 5.0, lam: float = 0.5, bins: Tensor | None = None) -> Tensor:
    """Class weights w proportional to ((1 - lam) p~ + lam / Q)^-1 and scaled so that sum_q p~_q w_q = 1.

    ``p~`` is ``smooth_prior(prior, bins, sigma)``; ``bins`` defaults to ``ab_gamut_bins()`` (Q = 313).
    Rare (saturated) colors weigh more, so the loss is not won by predicting desaturated ones.
    """
    bins = ab_gamut_bins() if bins is None else bins
    smoothed = smooth_prior(prior, bins.to(prior), sigma)
    weights = 1.0 / ((1 - lam) * smoothed + lam / len(prior))
    return weights / (smoothed * weights).sum()


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float = 0.38) -> Tensor:
    """(N, Q, H, W) logits -> (N, 2, H, W) ab in Lab units: the mean of softmax(logits / T) over the bins.

    Re-normalizing exp(log p / T) equals softmax(logits / T). T = 1 is the mean (desaturated), T -> 0 the
    mode (vivid but patchy); Zhang et al. pick 0.38.
    """
    probs = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", probs, bins.to(probs))


def rebalanced_cross_entropy(logits: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
    """Mean over pixels of v(Z) * cross-entropy(Z, softmax(logits)), v = the weight of Z's closest bin."""
    pixel_weights = weights.to(logits)[targets.argmax(dim=1)]
    return (pixel_weights * -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)).mean()


class AbBins(nn.Module):
    """What an ab-bin classification head needs besides its layers: the bins, the training data's color
    prior and the rebalancing weights derived from it (buffers, saved with the weights), and the decoding.

    Until ``set_prior`` the prior is uniform and all weights are 1 (plain cross-entropy). ``bins`` is
    rebuilt from ``grid``; ``temperature`` (the annealed-mean T) may be changed at inference time.
    """

    def __init__(self, grid: int, temperature: float) -> None:
        super().__init__()
        bins = ab_gamut_bins(grid)
        self.temperature = temperature
        self.register_buffer("bins", bins, persistent=False)
        self.register_buffer("prior", torch.full((len(bins),), 1.0 / len(bins)))
        self.register_buffer("class_weights", torch.ones(len(bins)))

    def decode(self, logits: Tensor) -> Tensor:
        """Logits -> normalized ab by the annealed mean, at the logits' resolution."""
        return normalize_ab(annealed_mean(logits.float(), self.bins, self.temperature))

    def upsampled(self, logits: Tensor, size: tuple[int, int]) -> Tensor:
        """Normalized ab (N, 2, H, W) from logits at 1/4 resolution: decoded, upsampled, cropped."""
        ab = F.interpolate(self.decode(logits), scale_factor=4, mode="bilinear", align_corners=False)
        return ab[..., : size[0], : size[1]]

    def logits_loss(self, logits: Tensor, ab_norm: Tensor) -> Tensor:
        """Rebalanced cross-entropy of 1/4-resolution logits against the soft-encoded ab of 4x4 cells."""
        target_ab = F.avg_pool2d(pad_to_multiple(denormalize_ab(ab_norm.float()), 4)[0], 4)
        return rebalanced_cross_entropy(logits.float(), soft_encode(target_ab, self.bins), self.class_weights)

    @torch.no_grad()
    def set_prior(self, prior: Tensor, sigma: float = 5.0, lam: float = 0.5) -> None:
        """Install the empirical color prior and the class-rebalancing weights derived from it."""
        self.prior.copy_(prior)
        self.class_weights.copy_(rebalancing_weights(self.prior, sigma, lam, self.bins))


class ColorClassifier(AbBins):
    """Zhang et al.'s classification colorizer on any registered encoder: Q-way logits at 1/4 resolution.

    How callers use it (L and ab normalized as everywhere in chromagen)::

        logits = model(l_norm)                          # (N, Q, ceil(H/4), ceil(W/4)) scores over model.bins
        ab = model.predict_ab(l_norm)                   # (N, 2, H, W): annealed mean, upsampled (inference)
        ab = model.decode(logits)                       # the same at the logits' 1/4 resolution
        loss = model.classification_loss(l_norm, ab)    # rebalanced cross-entropy on soft-encoded targets

    Before training, install the training set's color prior (Lab-unit ab batches)::

        model.set_prior(empirical_prior(ab_batches, model.bins), sigma=5.0, lam=0.5)
    """

    def __init__(self, encoder: str, pretrained: bool, decoder_channels: tuple[int, ...], grid: int,
                 temperature: float) -> None:
        super().__init__(grid, temperature)
        self.encoder = create_encoder(encoder, pretrained=pretrained)
        skips = self.encoder.channels[::-1][:4]  # strides 32, 16, 8, 4
        chans = [skips[0], *decoder_channels]
        self.ups = nn.ModuleList(UpBlock(chans[i], skips[i + 1], chans[i + 1]) for i in range(3))
        self.head = nn.Conv2d(chans[-1], len(self.bins), kernel_size=1)

    def forward(self, l_norm: Tensor) -> Tensor:
        h, w = l_norm.shape[-2:]
        x, _ = pad_to_multiple(l_norm, 32)
        feats = self.encoder(x)[::-1]
        y = feats[0]
        for up, skip in zip(self.ups, feats[1:4]):
            y = up(y, skip)
        return self.head(y)[..., : (h + 3) // 4, : (w + 3) // 4]

    def predict_ab(self, l_norm: Tensor) -> Tensor:
        """Normalized ab (N, 2, H, W): the generator contract, for inference and validation."""
        return self.upsampled(self(l_norm), l_norm.shape[-2:])

    def classification_loss(self, l_norm: Tensor, ab_norm: Tensor) -> Tensor:
        """Rebalanced cross-entropy against the soft-encoded ab, averaged to the logits' 4x4 cells."""
        return self.logits_loss(self(l_norm), ab_norm)


@register_model("classifier")
def classifier(
    encoder: str = "efficientnet-lite0",
    pretrained: bool = True,
    decoder_channels: tuple[int, ...] = (256, 192, 128),
    grid: int = 10,
    temperature: float = 0.38,
) -> nn.Module:
    """Zhang et al. ECCV16: 313-way ab-bin classification, class rebalancing, annealed-mean decoding."""
    return ColorClassifier(encoder, pretrained, tuple(decoder_channels), grid, temperature)
