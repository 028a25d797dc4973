"""``fit``: a recipe in, a trained generator (Lightning checkpoints + exported safetensors) out."""

import functools
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import Tensor
from torch.utils.data import DataLoader

from chromagen.data import CropDataset, ImageRef, find_images
from chromagen.data.device_bank import DeviceImageBank
from chromagen.data.samplers import ResumableSampler
from chromagen.errors import ChromagenError
from chromagen.models.weights import load_generator, save_generator
from chromagen.training.config import Recipe, recipe_from_dict
from chromagen.training.module import CLASSIFICATION, ColorizationModule
from chromagen.training.prior import estimate_prior, load_prior


def _ignore_sigterm(worker_id: int) -> None:
    """Data loader workers leave SIGTERM to the main process, which stops at a step boundary and ends them.

    ``timeout`` and batch schedulers signal the whole process group; a worker that died first would turn that
    orderly stop into a crash that saves nothing.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _loader(paths: list[str], recipe: Recipe, train: bool, limit: int | None = None,
            batches_seen: int = 0) -> DataLoader:
    """Training: an endless resumable stream (see samplers). Validation: the first ``limit`` images once."""
    refs = find_images(paths)[:limit]
    data = recipe.data
    dataset = CropDataset(refs, data.crop_size, train=train, min_scale=data.min_scale, seed=recipe.trainer.seed)
    sampler = ResumableSampler(len(dataset), recipe.trainer.seed, batches_seen * data.batch_size) if train else None
    return DataLoader(
        dataset,
        batch_size=data.batch_size if train else min(data.batch_size, len(dataset)),
        sampler=sampler,
        num_workers=data.num_workers,
        persistent_workers=data.num_workers > 0,
        worker_init_fn=_ignore_sigterm,
    )


def _report_decoding(done: int, total: int) -> None:
    """Decoding a large training set takes a while: say how far it got, every tenth of the way."""
    if done == total or done % max(1, total // 10) == 0:
        rank_zero_info(f"decoded {done}/{total} training images into the device bank")


@functools.lru_cache(maxsize=1)  # one bank at a time: it can take gigabytes of device memory
def _decoded_bank(refs: tuple[ImageRef, ...], crop_size: int, store_size: int | None, min_scale: float,
                  device: str, progress: bool) -> DeviceImageBank:
    """The training photos decoded onto ``device``; the next run of this process on the same photos reuses
    them (a benchmark fitting recipe after recipe decodes its training set once)."""
    return DeviceImageBank.from_refs(list(refs), crop_size, store_size, min_scale, device=device,
                                     progress=_report_decoding if progress else None)


class BankBatches:
    """``data.on_device`` training data: an endless stream of uint8 batches cropped on the training device.

    A plain iterable (Lightning moves nothing, adds no sampler). The bank is decoded when Lightning first
    iterates, after the strategy set up, so each DDP process knows its device and rank.
    """

    def __init__(self, refs: list[ImageRef], recipe: Recipe, batches_seen: int, trainer: L.Trainer,
                 progress: bool) -> None:
        self.refs = refs
        self.recipe = recipe
        self.batches_seen = batches_seen
        self.trainer = trainer
        self.progress = progress

    @cached_property
    def bank(self) -> DeviceImageBank:
        """Decoded on first use, on the device this process trains on."""
        data = self.recipe.data
        return _decoded_bank(tuple(self.refs), data.crop_size, data.store_size, data.min_scale,
                             str(self.trainer.strategy.root_device), self.progress)

    def __iter__(self) -> Iterator[Tensor]:
        yield from self.bank.batches(self.recipe.data.batch_size, self.recipe.trainer.seed, self.batches_seen,
                                     self.trainer.global_rank)


def _load_fields(checkpoint: Path) -> dict:
    # mmap: the tensors stay on disk; Lightning reads them properly when it restores the run.
    return torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)


def _saved(checkpoint: Path | None, key: str) -> int | None:
    """An integer a checkpoint stores (``global_step``, ``batches_seen``); None when there is no checkpoint."""
    if checkpoint is None or not checkpoint.is_file():
        return None
    return int(_load_fields(checkpoint).get(key, 0))


def _identity(values: dict) -> dict[str, object]:
    """What makes two runs one run, flattened: the whole recipe, data paths made absolute, worker count aside."""
    recipe = recipe_from_dict(values)
    data = replace(recipe.data, train=[os.path.abspath(p) for p in recipe.data.train],
                   val=[os.path.abspath(p) for p in recipe.data.val], num_workers=0)
    flat: dict[str, object] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        else:
            flat[prefix] = value

    walk("", replace(recipe, data=data).to_dict())
    return flat


def _check_same_run(checkpoint: Path, recipe: Recipe) -> None:
    """Resuming a run that had another recipe or data would export it as if it were this one; so would one
    already trained past this step budget. Extending an interrupted run's budget (2 steps, then 4) is resuming.
    """
    fields = _load_fields(checkpoint)
    saved = fields.get("hyper_parameters", {}).get("recipe")
    try:
        before = _identity(saved or {})
    except ChromagenError:
        before = {}
    now = _identity(recipe.to_dict())
    changed = sorted(key for key in before.keys() | now.keys() if before.get(key) != now.get(key))
    step = int(fields.get("global_step", 0))
    if changed == ["trainer.max_steps"] and step <= recipe.trainer.max_steps:
        return
    if changed == ["trainer.max_steps"]:
        raise ChromagenError(f"{checkpoint.parents[1]}: holds a run already trained for {step} steps, more than "
                             f"the {recipe.trainer.max_steps} asked; pass --no-resume to start afresh there, or "
                             f"choose another output folder")
    if changed:
        shown = ", ".join(changed[:4]) + (" ..." if len(changed) > 4 else "")
        raise ChromagenError(f"{checkpoint.parents[1]}: holds a run started with a different {shown}; pass "
                             f"--no-resume to start afresh there, or choose another output folder")


def _install_prior(module: ColorizationModule, recipe: Recipe) -> None:
    """Classification training rebalances classes by the training data's color prior (saved with the model)."""
    cfg = recipe.classification
    bins = len(module.generator.prior)
    prior = load_prior(cfg.prior, bins) if cfg.prior else estimate_prior(recipe.data.train, cfg.prior_images,
                                                                         recipe.data.crop_size)
    module.generator.set_prior(prior, sigma=cfg.sigma, lam=cfg.lam)


def _init_generator(module: ColorizationModule, path: str) -> list[str]:
    """Start from trained weights of the same architecture (e.g. the L1 stage before GAN fine-tuning), or of
    the architecture it extends (``base_model``: a hint-aware or two-headed U-Net from the automatic one),
    whose weights then fill every layer but the new ones (``new_layers``), which keep their initialization.
    Returns the names of those new (not loaded) tensors."""
    source, meta = load_generator(path)
    name, base = module.recipe.model.name, getattr(module.generator, "base_model", None)
    if meta["model"] not in (name, base):
        raise ChromagenError(f"{path}: holds a {meta['model']!r} model, the recipe trains {name!r}")
    new_layers = tuple(getattr(module.generator, "new_layers", ()))
    missing, unexpected = module.generator.load_state_dict(source.state_dict(), strict=meta["model"] == name)
    if unexpected or any(not k.startswith(new_layers) for k in missing):
        raise ChromagenError(f"{path}: its {meta['model']!r} weights do not fit {name!r} "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return missing


def start_module(recipe: Recipe) -> ColorizationModule:
    """The module a fresh run starts from: built with the recipe's layers (pretrained encoders keep their
    ImageNet weights), then ``init_from`` loaded and, for classification, the color prior installed; the
    untrained baseline that a benchmark compares against."""
    module = ColorizationModule(recipe.to_dict())
    fresh = _init_generator(module, recipe.init_from) if recipe.init_from else None
    classifies = recipe.loss == CLASSIFICATION or recipe.terms.classification > 0
    if classifies and (fresh is None or any(k.endswith("prior") for k in fresh)):
        _install_prior(module, recipe)  # a prior that came with the initial weights is kept
    return module


def _checkpointing(output: Path, every: int, validated: bool) -> list[ModelCheckpoint]:
    """``last.ckpt`` every ``every`` steps (for resuming) and, with validation, the best by val PSNR.

    The best is judged right after each validation, so its score belongs to its own weights (a save on the
    training step would be ranked by the previous validation's score).
    """
    folder = output / "checkpoints"
    latest = ModelCheckpoint(dirpath=folder, every_n_train_steps=every, save_last=True, save_top_k=0)
    if not validated:
        return [latest]
    best = ModelCheckpoint(dirpath=folder, filename="step{step:07d}", auto_insert_metric_name=False,
                           monitor="val/psnr", mode="max", save_top_k=1, every_n_epochs=1,
                           save_on_train_epoch_end=False)
    return [latest, best]


def _early_stopping(recipe: Recipe, val_loader: DataLoader | None) -> list[EarlyStopping]:
    """Stop when val PSNR has not improved for ``early_stop_patience`` validations (the best is exported)."""
    patience = recipe.trainer.early_stop_patience
    if patience is None:
        return []
    if val_loader is None:
        raise ChromagenError("trainer.early_stop_patience needs validation data (data.val)")
    return [EarlyStopping(monitor="val/psnr", mode="max", patience=patience, check_on_train_epoch_end=False)]


@contextmanager
def _sigterm_at_step_boundary() -> Iterator[None]:
    """Let SIGTERM end training at the next step instead of killing the process.

    Lightning notes the signal and then calls the handler that was installed before it; with Python's
    default one that kills the process mid-step. A no-op handler underneath leaves Lightning's flag, which
    stops the loop at the next step boundary (SIGTERMException). Only the main thread may set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _precision(recipe: Recipe) -> str:
    if recipe.trainer.precision != "auto":
        return recipe.trainer.precision
    return "bf16-mixed" if torch.cuda.is_available() else "32-true"


def fit(recipe: Recipe, output: Path, resume: bool = True, progress: bool = True) -> Path:
    """Train, keep checkpoints under ``output/checkpoints``, and export the best generator.

    SIGTERM (a time limit, a scheduler) stops at the next step boundary and still saves and exports, then
    raises: a run cut short on a borrowed GPU keeps what it learned.

    With ``resume`` an interrupted run continues exactly from ``output/checkpoints/last.ckpt``: step,
    optimizer, scheduler and data position are restored, and all randomness is a function of
    (seed, step, rank). Returns the exported ``output/model.safetensors``.
    """
    if recipe.trainer.export not in ("best", "last"):
        raise ChromagenError(f"trainer.export must be best or last, not {recipe.trainer.export!r}")
    L.seed_everything(recipe.trainer.seed, workers=True, verbose=False)
    output.mkdir(parents=True, exist_ok=True)
    last = output / "checkpoints" / "last.ckpt"
    resume_from = last if resume and last.is_file() else None
    if resume_from is not None:
        _check_same_run(resume_from, recipe)
    batches_seen = _saved(resume_from, "batches_seen") or 0  # 0: a fresh run
    val_loader = _loader(recipe.data.val, recipe, train=False, limit=recipe.data.val_limit) if recipe.data.val else None
    steps = recipe.trainer.max_steps
    every = max(1, min(recipe.trainer.val_every_steps, steps))
    checkpoints = _checkpointing(output, every, validated=val_loader is not None)
    trainer = L.Trainer(
        default_root_dir=output,
        max_steps=steps,
        max_epochs=-1,
        accelerator=recipe.trainer.accelerator,
        devices=recipe.trainer.devices,
        strategy=recipe.trainer.strategy,
        num_nodes=recipe.trainer.num_nodes,
        precision=_precision(recipe),
        logger=TensorBoardLogger(output, name="tensorboard", version=""),
        # TQDM: Lightning's rich bar counts epochs against max_epochs (-1 here) and shows "Epoch 0/-2".
        callbacks=[*checkpoints, LearningRateMonitor(logging_interval="step"), *_early_stopping(recipe, val_loader),
                   *([TQDMProgressBar()] if progress else [])],
        log_every_n_steps=recipe.trainer.log_every_steps,
        val_check_interval=every if val_loader else None,
        check_val_every_n_epoch=None,
        limit_val_batches=1.0 if val_loader else 0,
        enable_progress_bar=progress,
        enable_model_summary=False,
        use_distributed_sampler=False,  # the resumable sampler shards by rank itself; the bank seeds by rank
    )
    train_data: DataLoader | BankBatches = (
        BankBatches(find_images(recipe.data.train), recipe, batches_seen, trainer, progress)
        if recipe.data.on_device else _loader(recipe.data.train, recipe, train=True, batches_seen=batches_seen)
    )
    module = ColorizationModule(recipe.to_dict()) if resume_from else start_module(recipe)
    if recipe.trainer.compile:
        module.generator.compile()  # compiles its __call__ in place: parameter names and checkpoints unchanged
    try:
        with _sigterm_at_step_boundary():
            trainer.fit(module, train_data, val_loader, ckpt_path=str(resume_from) if resume_from else None)
        interrupted = False
    except SIGTERMException:  # raised at a step boundary: the weights are whole, so keep and export them
        interrupted = True
    if _saved(last, "global_step") != trainer.global_step:  # the run ended between two saves (max_steps, early stop)
        trainer.save_checkpoint(last)
    best = checkpoints[-1].best_model_path if recipe.trainer.export == "best" else ""
    if best and trainer.is_global_zero:
        module = ColorizationModule.load_from_checkpoint(best, map_location="cpu")
    exported = output / "model.safetensors"
    if trainer.is_global_zero:
        save_generator(module.generator, recipe.model.name, recipe.model.kwargs, exported,
                       extra={"step": str(trainer.global_step), "checkpoint": Path(best).name if best else ""})
    if interrupted:
        raise ChromagenError(f"stopped by SIGTERM at step {trainer.global_step}: weights so far exported to "
                             f"{exported}; run the same command again to resume")
    return exported


def with_overrides(recipe: Recipe, data: list[str] | None, val: list[str] | None, max_steps: int | None) -> Recipe:
    """Apply command-line overrides to a recipe without mutating it."""
    data_cfg = replace(recipe.data, train=data or recipe.data.train, val=val if val is not None else recipe.data.val)
    trainer_cfg = replace(recipe.trainer, max_steps=max_steps or recipe.trainer.max_steps)
    return replace(recipe, data=data_cfg, trainer=trainer_cfg)
