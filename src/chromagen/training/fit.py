"""``fit``: a recipe in, a trained generator (Lightning checkpoints + exported safetensors) out."""

from dataclasses import replace
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.data import DataLoader

from chromagen.data import CropDataset, find_images
from chromagen.models.weights import save_generator
from chromagen.training.config import Recipe
from chromagen.training.module import ColorizationModule


def _loader(paths: list[str], recipe: Recipe, train: bool, limit: int | None = None) -> DataLoader:
    refs = find_images(paths)[:limit]
    data = recipe.data
    dataset = CropDataset(refs, data.crop_size, train=train, min_scale=data.min_scale)
    return DataLoader(
        dataset,
        batch_size=min(data.batch_size, len(dataset)) if not train else data.batch_size,
        shuffle=train,
        drop_last=train and len(dataset) >= data.batch_size,
        num_workers=data.num_workers,
        persistent_workers=data.num_workers > 0,
    )


def _precision(recipe: Recipe) -> str:
    if recipe.trainer.precision != "auto":
        return recipe.trainer.precision
    return "bf16-mixed" if torch.cuda.is_available() else "32-true"


def fit(recipe: Recipe, output: Path, resume: bool = True, progress: bool = True) -> Path:
    """Train, keep checkpoints under ``output/checkpoints``, and export the best generator.

    With ``resume`` an interrupted run continues from ``output/checkpoints/last.ckpt`` (step, optimizer,
    scheduler and RNG states included). Returns the exported ``output/model.safetensors``.
    """
    L.seed_everything(recipe.trainer.seed, workers=True, verbose=False)
    output.mkdir(parents=True, exist_ok=True)
    train_loader = _loader(recipe.data.train, recipe, train=True)
    val_loader = _loader(recipe.data.val, recipe, train=False, limit=recipe.data.val_limit) if recipe.data.val else None
    steps = recipe.trainer.max_steps
    every = max(1, min(recipe.trainer.val_every_steps, steps))
    checkpoint = ModelCheckpoint(
        dirpath=output / "checkpoints",
        filename="step{step:07d}",
        auto_insert_metric_name=False,
        every_n_train_steps=every,
        save_last=True,
        monitor="val/psnr" if val_loader else None,
        mode="max",
        save_top_k=1,
    )
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
        callbacks=[checkpoint, LearningRateMonitor(logging_interval="step")],
        log_every_n_steps=recipe.trainer.log_every_steps,
        val_check_interval=every if val_loader else None,
        check_val_every_n_epoch=None,
        limit_val_batches=1.0 if val_loader else 0,
        enable_progress_bar=progress,
        enable_model_summary=False,
    )
    module = ColorizationModule(recipe.to_dict())
    last = output / "checkpoints" / "last.ckpt"
    trainer.fit(module, train_loader, val_loader, ckpt_path=str(last) if resume and last.is_file() else None)
    best = checkpoint.best_model_path
    if best and trainer.is_global_zero:
        module = ColorizationModule.load_from_checkpoint(best, map_location="cpu")
    exported = output / "model.safetensors"
    if trainer.is_global_zero:
        save_generator(module.generator, recipe.model.name, recipe.model.kwargs, exported,
                       extra={"step": str(trainer.global_step), "checkpoint": Path(best).name if best else ""})
    return exported


def with_overrides(recipe: Recipe, data: list[str] | None, val: list[str] | None, max_steps: int | None) -> Recipe:
    """Apply command-line overrides to a recipe without mutating it."""
    data_cfg = replace(recipe.data, train=data or recipe.data.train, val=val if val is not None else recipe.data.val)
    trainer_cfg = replace(recipe.trainer, max_steps=max_steps or recipe.trainer.max_steps)
    return replace(recipe, data=data_cfg, trainer=trainer_cfg)
