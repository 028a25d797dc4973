"""The LightningModule: uint8 RGB batches become (L, ab) on the device; one module for every objective.

Objectives: regression (L1 / MSE / Huber on ab), classification (rebalanced cross-entropy over ab bins,
for generators that expose ``classification_loss``), and adversarial training (``recipe.gan``: a
discriminator on concat(L, ab), two optimizers, D/G step ratio, label smoothing).
"""

import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chromagen.color import model_space_to_rgb, rgb_to_model_space
from chromagen.data.degrade import degrade_lightness
from chromagen.data.hint_sampling import hint_map, sample_points, simulate_hints
from chromagen.errors import ChromagenError
from chromagen.evaluation.metrics import colorfulness, psnr
from chromagen.models import create_model, predict_ab
from chromagen.training.config import GanConfig, Recipe, recipe_from_dict

REGRESSION_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "l1": F.l1_loss,
    "mse": F.mse_loss,
    "huber": lambda pred, target: F.huber_loss(pred, target, delta=0.1),
}
CLASSIFICATION = "classification"


def to_model_space(batch: Tensor) -> tuple[Tensor, Tensor]:
    """uint8 RGB (N, 3, H, W) -> normalized (L, ab) on the batch's device; L is channels-last for speed."""
    l_norm, ab = rgb_to_model_space(batch.float() / 255.0)
    return l_norm.contiguous(memory_format=torch.channels_last), ab


def adversarial_loss(mode: str) -> Callable[[Tensor, float], Tensor]:
    """(discriminator logits, target label) -> loss, for vanilla GAN (BCE) or LSGAN (squared error)."""
    if mode == "vanilla":
        return lambda logits, label: F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))
    if mode == "lsgan":
        return lambda logits, label: F.mse_loss(logits, torch.full_like(logits, label))
    raise ChromagenError(f"unknown GAN mode {mode!r}; use vanilla or lsgan")


def warmup_cosine(total: int, warmup: int) -> Callable[[int], float]:
    """LR multiplier: linear warm-up, then cosine decay to 0 at ``total`` scheduler steps."""

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return schedule


def frozen_for(schedule: Callable[[int], float], steps: int) -> Callable[[int], float]:
    """``schedule`` with a multiplier of 0 for the first ``steps`` steps: the randomly initialized decoder
    settles before it can push large gradients into the pretrained encoder (weight decay pauses too)."""
    return lambda step: 0.0 if step < steps else schedule(step)


def colorfulness_shortfall(l_norm: Tensor, pred: Tensor, ab: Tensor) -> Tensor:
    """Mean over images of how far the prediction's Hasler colorfulness falls below the truth's, / 100.

    One number per image, blind to where the colors go: it only says "as colorful as the truth", which
    counters regression's pull toward gray without rewarding colors beyond the truth's.
    """
    shortfall = colorfulness(model_space_to_rgb(l_norm, ab)) - colorfulness(model_space_to_rgb(l_norm, pred))
    return (shortfall.clamp(min=0) / 100).mean().float()


def _mean_psnr(l_norm: Tensor, pred: Tensor, ab: Tensor) -> Tensor:
    """Mean PSNR of a batch, on sRGB rebuilt from the true L and the predicted / true ab."""
    return psnr(model_space_to_rgb(l_norm, pred), model_space_to_rgb(l_norm, ab)).mean().float()


class ColorizationModule(L.LightningModule):
    """Trains any registered generator (and, for GAN recipes, a registered discriminator)."""

    def __init__(self, recipe: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.recipe: Recipe = recipe_from_dict(recipe)
        loss = self.recipe.loss
        if loss not in REGRESSION_LOSSES and loss != CLASSIFICATION:
            raise ChromagenError(f"unknown loss {loss!r}; choose from {sorted([*REGRESSION_LOSSES, CLASSIFICATION])}")
        # Channels-last runs convolutions 1.5-2x faster on CPU and on tensor cores alike.
        self.generator = create_model(self.recipe.model.name, **self.recipe.model.kwargs).to(
            memory_format=torch.channels_last
        )
        if loss == CLASSIFICATION and not hasattr(self.generator, "classification_loss"):
            raise ChromagenError(f"model {self.recipe.model.name!r} has no classification head")
        gan = self.recipe.gan
        if gan is not None and loss == CLASSIFICATION:
            raise ChromagenError("a GAN recipe needs a regression loss (l1, mse or huber) for its generator")
        self.discriminator: nn.Module | None = (
            create_model(gan.discriminator, **gan.kwargs).to(memory_format=torch.channels_last) if gan else None
        )
        self.adversarial = adversarial_loss(gan.mode) if gan else None
        hint_aware = getattr(self.generator, "in_channels", 1) > 1
        if hint_aware != (self.recipe.hints is not None):
            raise ChromagenError(f"model {self.recipe.model.name!r} {'needs' if hint_aware else 'takes no'} "
                                 "hints: a hint-aware model trains with a `hints` section, others without")
        if gan is not None and hint_aware:
            raise ChromagenError("hint-aware models train with a regression loss only (no `gan` section)")
        if self.recipe.terms.classification and not hasattr(self.generator, "joint_loss"):
            raise ChromagenError(f"terms.classification needs a model with a regression and an ab-bin head "
                                 f"(effnet-unet-cls), not {self.recipe.model.name!r}")
        self.automatic_optimization = gan is None
        self.batches_seen = 0

    def forward(self, l_norm: Tensor) -> Tensor:
        return self.predict_ab(l_norm)

    def predict_ab(self, l_norm: Tensor) -> Tensor:
        """Normalized ab, whatever the generator's raw output (classification heads decode logits)."""
        return predict_ab(self.generator, l_norm)

    def reconstruction_loss(self, l_in: Tensor, ab: Tensor, l_norm: Tensor | None = None
                            ) -> tuple[Tensor, Tensor | None]:
        """The generator's own objective plus the recipe's extra terms, and its ab prediction when the
        objective produced one. ``l_in`` is what the generator sees (maybe damaged, maybe with hints);
        ``l_norm`` the clean lightness the colors are judged on (default: ``l_in``)."""
        terms = self.recipe.terms
        if self.recipe.loss == CLASSIFICATION:
            return self.generator.classification_loss(l_in, ab), None  # type: ignore[operator]
        regression = REGRESSION_LOSSES[self.recipe.loss]
        if terms.classification:
            loss, pred = self.generator.joint_loss(l_in, ab, regression, terms.classification)  # type: ignore[operator]
        else:
            pred = self.generator(l_in).float()
            loss = regression(pred, ab)
        clean = l_in[:, :1] if l_norm is None else l_norm
        if terms.colorfulness:
            shortfall = colorfulness_shortfall(clean, pred, ab)
            self.log("train/colorfulness_shortfall", shortfall)
            loss = loss + terms.colorfulness * shortfall
        if terms.perceptual:
            from chromagen.evaluation.lpips_offline import perceptual_loss

            distance = perceptual_loss(model_space_to_rgb(clean, pred), model_space_to_rgb(clean, ab))
            self.log("train/perceptual", distance)
            loss = loss + terms.perceptual * distance
        return loss, pred

    def with_hints(self, l_norm: Tensor, hints: Tensor) -> Tensor:
        """The generator's input: L alone, or for hint-aware recipes L and the (N, 3, H, W) hint map."""
        if self.recipe.hints is None:
            return l_norm
        return torch.cat([l_norm, hints.to(memory_format=torch.channels_last)], 1)

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        self.batches_seen += 1
        l_norm, ab = to_model_space(batch)
        # Damage and hints are drawn from the global RNG, which on_train_batch_start reseeds: a resumed run
        # replays the same ones.
        degrade = self.recipe.data.degrade
        l_in = degrade_lightness(l_norm, degrade) if degrade else l_norm
        if self.discriminator is None:
            hints = simulate_hints(ab, self.recipe.hints) if self.recipe.hints else ab[:, :0]
            loss, _ = self.reconstruction_loss(self.with_hints(l_in, hints), ab, l_norm)
            self.log("train/loss", loss, prog_bar=True)
            return loss
        return self._gan_step(l_in, l_norm, ab)

    def _gan_step(self, l_in: Tensor, l_norm: Tensor, ab: Tensor) -> Tensor:
        """``d_steps`` discriminator updates, then one generator update (pix2pix: L_rec * lambda + L_adv).

        The discriminator judges colors on the clean lightness, real and fake alike, so input damage
        (``l_in``) is no clue to which is which."""
        gan: GanConfig = self.recipe.gan  # type: ignore[assignment]
        assert self.discriminator is not None and self.adversarial is not None
        opt_g, opt_d = self.optimizers()  # type: ignore[misc]
        real = torch.cat([l_norm, ab], 1)
        rec, fake_ab = self.reconstruction_loss(l_in, ab, l_norm)
        assert fake_ab is not None
        fake = torch.cat([l_norm, fake_ab], 1)
        for _ in range(gan.d_steps):
            loss_d = 0.5 * (self.adversarial(self.discriminator(real), 1.0 - gan.label_smoothing)
                            + self.adversarial(self.discriminator(fake.detach()), 0.0))
            opt_d.zero_grad()
            self.manual_backward(loss_d)
            opt_d.step()
        self.discriminator.requires_grad_(False)
        loss_adv = self.adversarial(self.discriminator(fake), 1.0)
        self.discriminator.requires_grad_(True)
        loss_g = gan.weight_rec * rec + loss_adv
        opt_g.zero_grad()
        self.manual_backward(loss_g)
        opt_g.step()
        for scheduler in self.lr_schedulers():  # type: ignore[union-attr]
            scheduler.step()
        self.log_dict({"train/loss": loss_g, "train/rec": rec, "train/adv_g": loss_adv, "train/adv_d": loss_d},
                      prog_bar=True)
        return loss_g

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        l_norm, ab = to_model_space(batch)
        if self.recipe.hints is not None:
            self._hint_validation(l_norm, ab, batch_idx)
            return
        pred = self.predict_ab(l_norm).float()
        self.log("val/l1", F.l1_loss(pred, ab), sync_dist=True)
        self.log("val/psnr", _mean_psnr(l_norm, pred, ab), prog_bar=True, sync_dist=True)

    def _hint_validation(self, l_norm: Tensor, ab: Tensor, batch_idx: int) -> None:
        """Scores with no hint and with ``val_points`` seeded hints; ``val/psnr`` (selection) is their mean,
        so the chosen model both follows hints and stays a good automatic colorizer."""
        sampling = self.recipe.hints
        assert sampling is not None
        generator = torch.Generator().manual_seed(batch_idx)
        points = sample_points([sampling.val_points] * len(ab), *ab.shape[-2:], sampling, generator)
        scores = {}
        for name, hints in (("auto", torch.zeros_like(ab[:, :1]).expand(-1, 3, -1, -1)),
                            ("hints", hint_map(ab, points))):
            pred = self.predict_ab(self.with_hints(l_norm, hints)).float()
            scores[name] = _mean_psnr(l_norm, pred, ab)
            self.log(f"val/psnr_{name}", scores[name], sync_dist=True)
        self.log("val/psnr", (scores["auto"] + scores["hints"]) / 2, prog_bar=True, sync_dist=True)

    def configure_optimizers(self) -> Any:
        opt, gan = self.recipe.optim, self.recipe.gan
        encoder = getattr(self.generator, "encoder", None)
        enc_ids = {id(p) for p in encoder.parameters()} if encoder is not None else set()
        hint_ids = {id(p) for name, p in self.generator.named_parameters() if name.startswith("hint_")}
        # Parameter groups may carry extra keys: "encoder" marks the pretrained one.
        groups = [
            {"params": [p for p in self.generator.parameters() if id(p) not in enc_ids | hint_ids], "lr": opt.lr,
             "encoder": False},
            {"params": [p for p in self.generator.parameters() if id(p) in enc_ids],
             "lr": opt.lr * opt.encoder_lr_mult, "encoder": True},
            {"params": [p for p in self.generator.parameters() if id(p) in hint_ids],
             "lr": opt.lr * opt.hint_lr_mult, "encoder": False},
        ]
        groups = [g for g in groups if g["params"]]
        opt_g = torch.optim.AdamW(groups, weight_decay=opt.weight_decay,
                                  betas=tuple(gan.betas) if gan else (0.9, 0.999))
        # Manual (GAN) optimization counts every optimizer step: G steps = max_steps / (1 + d_steps).
        total = self.recipe.trainer.max_steps // (1 + gan.d_steps) if gan else self.recipe.trainer.max_steps
        schedule = warmup_cosine(total, opt.warmup_steps)
        encoder_schedule = frozen_for(schedule, opt.freeze_encoder_steps)
        sched_g = torch.optim.lr_scheduler.LambdaLR(
            opt_g, [encoder_schedule if g["encoder"] else schedule for g in groups])
        if gan is None:
            return {"optimizer": opt_g, "lr_scheduler": {"scheduler": sched_g, "interval": "step"}}
        assert self.discriminator is not None
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=gan.lr, betas=tuple(gan.betas))
        sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, schedule)
        return [opt_g, opt_d], [sched_g, sched_d]

    def on_train_batch_start(self, batch: Tensor, batch_idx: int) -> None:
        """Reseed from (seed, step, rank): stochastic layers then draw the same numbers after a resume."""
        torch.manual_seed(self.recipe.trainer.seed * 1_000_003 + self.batches_seen * 7_919 + self.global_rank)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Lightning stores weights, optimizers, schedulers and the step; we add the data position."""
        checkpoint["batches_seen"] = self.batches_seen

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.batches_seen = checkpoint.get("batches_seen", 0)
