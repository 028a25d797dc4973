"""Training recipes: YAML files under configs/ parsed into typed, validated dataclasses."""

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_type_hints

import yaml

from chromagen.data.hint_sampling import HintSampling
from chromagen.errors import ChromagenError


@dataclass
class ModelConfig:
    """Which registered network to build, with its keyword arguments."""

    name: str = "effnet-unet"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    """Where photos come from and how they become batches."""

    train: list[str] = field(default_factory=lambda: ["../shared/data/train"])
    val: list[str] = field(default_factory=list)
    crop_size: int = 128
    min_scale: float = 0.25
    batch_size: int = 32
    num_workers: int = 2
    val_limit: int = 600
    on_device: bool = False  # decode once, keep uint8 photos on the training device, crop there (device_bank)
    store_size: int | None = None  # on_device: side of the stored squares; None = crop_size


@dataclass
class OptimConfig:
    """AdamW with warm-up + cosine decay; the pretrained encoder learns ``encoder_lr_mult`` slower."""

    lr: float = 1e-3
    encoder_lr_mult: float = 0.1
    freeze_encoder_steps: int = 0  # the encoder's learning rate is 0 for the first N generator steps
    hint_lr_mult: float = 1.0  # hint-aware models: the new, zero-initialized hint layers learn this much faster
    weight_decay: float = 1e-4
    warmup_steps: int = 100


@dataclass
class TrainerConfig:
    """Lightning trainer settings that recipes may change."""

    max_steps: int = 1000
    precision: str = "auto"  # "auto": bf16-mixed on GPU, 32-true on CPU
    val_every_steps: int = 500
    log_every_steps: int = 20
    accelerator: str = "auto"
    devices: str | int = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    seed: int = 0
    compile: bool = False  # torch.compile the generator (pays on GPU; the first steps are slow)
    early_stop_patience: int | None = None  # stop after this many validations without a better val PSNR


@dataclass
class GanConfig:
    """Adversarial training (pix2pix style): a discriminator judges concat(L, ab) patches."""

    discriminator: str = "patchgan"
    kwargs: dict[str, Any] = field(default_factory=dict)
    mode: str = "vanilla"  # "vanilla" (BCE) or "lsgan" (least squares)
    weight_rec: float = 100.0  # lambda_L1: weight of the reconstruction loss next to the adversarial one
    label_smoothing: float = 0.0  # real targets become 1 - label_smoothing (one-sided smoothing)
    d_steps: int = 1  # discriminator updates per generator update
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])


@dataclass
class ClassificationConfig:
    """Zhang et al. classification: ab bins, class rebalancing and the empirical prior it needs."""

    prior: str | None = None  # .npy from `chromagen prior`; None = estimate from the training data
    prior_images: int = 2000  # images read to estimate the prior when none is given
    sigma: float = 5.0  # Gaussian smoothing of the prior (ab units)
    lam: float = 0.5  # mix with the uniform distribution


@dataclass
class Recipe:
    """A whole training recipe."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    loss: str = "l1"  # l1 | mse | huber | classification
    gan: GanConfig | None = None
    classification: ClassificationConfig = field(default_factory=ClassificationConfig)
    init_from: str | None = None  # start the generator from these weights (e.g. GAN fine-tuning)
    hints: HintSampling | None = None  # hint-aware models: simulated user hints (Zhang et al. 2017)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for checkpoints and logs)."""
        return asdict(self)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    """Instantiate a (nested) dataclass from a dict, rejecting unknown keys with a clear message."""
    if not isinstance(values, dict):
        raise ChromagenError(f"{where}: expected a mapping, got {type(values).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ChromagenError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
    hints = get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        nested = [t for t in (hints[key], *get_args(hints[key])) if is_dataclass(t)]
        kwargs[key] = _build(nested[0], value, f"{where}.{key}") if nested and value is not None else value
    return cls(**kwargs)


def recipe_from_dict(values: dict[str, Any], where: str = "recipe") -> Recipe:
    """Validate a recipe mapping (YAML content or a checkpoint's saved hyper-parameters)."""
    return _build(Recipe, values or {}, where)


def load_recipe(path: str | Path) -> Recipe:
    """Read a YAML recipe file."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ChromagenError(f"{path}: cannot read recipe ({exc})") from exc
    return recipe_from_dict(values, str(path))
