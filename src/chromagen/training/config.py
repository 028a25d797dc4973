"""Training recipes: YAML files parsed into typed, validated dataclasses.

A recipe is named (``default``: one of the recipes shipped inside the package, ``chromagen/configs``) or a
path to a YAML file. Relative paths inside a recipe file (data, prior, init_from) are relative to that
file's folder; inside a shipped recipe, to the folder the command runs in (the package folder is no place
for photos). Every value is type-checked, so ``lr: "fast"`` is one clear line, not a traceback.
"""

import types
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from chromagen.errors import ChromagenError

RECIPES = Path(__file__).resolve().parent.parent / "configs"


@dataclass
class ModelConfig:
    """Which registered network to build, with its keyword arguments."""

    name: str = "effnet-unet"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DegradeConfig:
    """How often and how hard training photos get the damage of old prints (``chromagen.data.degrade``).

    Each kind strikes a photo with its own probability; strengths are drawn uniformly up to the maximum.
    Only the lightness the model sees is damaged: it must learn to give clean colors to damaged prints.
    """

    p_fade: float = 0.4  # lower contrast, lifted blacks, a gamma shift
    max_fade: float = 0.5  # contrast falls to at most 1 - max_fade
    p_blur: float = 0.3
    max_blur_sigma: float = 1.5  # pixels of the training crop
    p_grain: float = 0.3
    max_grain: float = 0.08  # standard deviation, in normalized L units ([-1, 1])
    p_jpeg: float = 0.3
    min_jpeg_quality: float = 20.0
    p_scratches: float = 0.15
    max_scratches: int = 3


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
    degrade: DegradeConfig | None = None  # old-print damage applied to the training input (not the target)


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
    export: str = "best"  # "best" (val PSNR) or "last": objectives that trade PSNR for color want the last


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
class HintsConfig:
    """Simulated user hints for hint-aware models (``chromagen.data.hint_sampling``): how many points, where,
    and how large (in pixels of the training crop)."""

    p: float = 0.125  # geometric parameter: P(k points) = (1 - p)^k p, mean (1 - p) / p
    zero_share: float = 0.0  # extra share of images with no hint at all (besides the geometric's own p)
    max_points: int = 64
    max_patch: int = 9  # patch sides are odd, uniform in 1..max_patch
    center_sigma: float = 0.25  # spread of the locations around the center, in image sides
    val_points: int = 10  # validation scores each image with no hint and with this many


@dataclass
class TermsConfig:
    """Extra objectives added to the regression loss, by weight (0 = off).

    ``colorfulness``: the shortfall of the prediction's Hasler colorfulness below the truth's (per image,
    / 100): tells a regression model its photo should be as colorful as the truth without saying where.
    ``classification``: rebalanced cross-entropy of a model's ab-bin head (``effnet-unet-cls``), trained
    jointly with the regression head.
    ``perceptual``: LPIPS-VGG distance between the sRGB of the prediction (on the clean lightness) and the
    truth's: judges colors by the features of an ImageNet network instead of per pixel.
    """

    colorfulness: float = 0.0
    classification: float = 0.0
    perceptual: float = 0.0


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
    hints: HintsConfig | None = None  # hint-aware models: simulated user hints (Zhang et al. 2017)
    terms: TermsConfig = field(default_factory=TermsConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for checkpoints and logs)."""
        return asdict(self)


def _type_name(hint: Any) -> str:
    if get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in get_args(hint))
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "null",
             list: "a list", dict: "a mapping"}
    return names.get(get_origin(hint) or hint, str(hint))


def _checked(value: Any, hint: Any, where: str) -> Any:
    """``value`` if it has the type the schema gives (ints accepted as floats), else a ChromagenError."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        for arg in get_args(hint):
            try:
                return _checked(value, arg, where)
            except ChromagenError:
                continue
    elif origin is list and isinstance(value, list):
        (item,) = get_args(hint) or (Any,)
        return [_checked(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    elif origin is dict and isinstance(value, dict):
        return value
    elif hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif hint is float and isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    elif hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif hint in (str, bool, type(None)) and type(value) is hint:
        return value
    raise ChromagenError(f"{where}: expected {_type_name(hint)}, got {value!r}")


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    """Instantiate a (nested) dataclass from a dict, rejecting unknown keys and ill-typed values."""
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
        if nested and value is not None:
            kwargs[key] = _build(nested[0], value, f"{where}.{key}")
        else:
            kwargs[key] = _checked(value, hints[key], f"{where}.{key}")
    return cls(**kwargs)


def recipe_from_dict(values: dict[str, Any], where: str = "recipe") -> Recipe:
    """Validate a recipe mapping (YAML content or a checkpoint's saved hyper-parameters)."""
    return _build(Recipe, values or {}, where)


def recipe_names() -> list[str]:
    """The recipes shipped inside the package, by name."""
    return sorted(p.stem for p in RECIPES.glob("*.yaml"))


def recipe_summaries() -> list[tuple[str, str, str, str]]:
    """(name, architecture, loss, first comment line) of every shipped recipe, without validating it."""
    rows = []
    for name in recipe_names():
        text = (RECIPES / f"{name}.yaml").read_text()
        values = yaml.safe_load(text) or {}
        comment = text.splitlines()[0].lstrip("# ") if text.startswith("#") else ""
        loss = values.get("loss", "l1") + (" + GAN" if values.get("gan") else "")
        rows.append((name, values.get("model", {}).get("name", ModelConfig.name), loss, comment))
    return rows


def resolve_recipe(name: str | Path) -> Path:
    """A recipe file path, or the name of a shipped recipe (``cnn`` -> chromagen/configs/cnn.yaml)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = RECIPES / f"{name}.yaml"
    if path.name == str(name) and shipped.is_file():
        return shipped
    raise ChromagenError(f"unknown recipe {str(name)!r}: no such file and no shipped recipe of that name; "
                         f"shipped: {', '.join(recipe_names())}")


def _rebased(values: Any, base: Path) -> Any:
    """Relative paths written in a recipe file (data, prior, init_from) made relative to ``base``."""
    if not isinstance(values, dict):
        return values

    def rebase(path: Any) -> Any:
        return str(base / path) if isinstance(path, str) and not Path(path).is_absolute() else path

    values = dict(values)
    if isinstance(values.get("data"), dict):
        data = values["data"] = dict(values["data"])
        for key in ("train", "val"):
            if isinstance(data.get(key), list):
                data[key] = [rebase(p) for p in data[key]]
    if isinstance(values.get("classification"), dict):
        values["classification"] = {**values["classification"],
                                    "prior": rebase(values["classification"].get("prior"))}
    if "init_from" in values:
        values["init_from"] = rebase(values["init_from"])
    return values


def load_recipe(name: str | Path) -> Recipe:
    """Read a recipe by name (shipped) or from a YAML file, validated, with its paths resolved."""
    path = resolve_recipe(name)
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ChromagenError(f"{path}: cannot read recipe ({' '.join(str(exc).split())})") from exc
    shipped = path.resolve().parent == RECIPES
    return recipe_from_dict(values if shipped else _rebased(values, path.resolve().parent), f"{path}: recipe")
