"""Training throughput from the device image bank: images/s, GPU utilization, data vs model time per step.

Usage: python benchmarks/train_throughput.py [--config default] [--data PATH ...] [--limit N]
           [--device auto|cuda|cpu] [--batch-size 1024] [--steps 50] [--warmup 10] [--compile]

Runs warm-up + timed training steps of a recipe through Lightning, as `chromagen train` does with
`data.on_device: true`: photos decoded once into a DeviceImageBank on the device, crops + flips + Lab
on the device, channels-last generator, bf16-mixed on CUDA (fp32 on CPU), optionally torch.compile.
Weights start random (speed does not depend on them) and nothing is saved.

Absolute images/s mean something only on a GPU (issue 5 target: >= 20,000 img/s at 128x128 for
configs/default.yaml on one H100), so on CPU it prints only how a step's time splits. The split comes from
CUDA events on the GPU timeline (no synchronization inside the timed window) or, on CPU, where work runs
synchronously, from the wall clock: data = drawing a batch from the bank, model = Lightning's training
step (Lab conversion, forward, backward, optimizer), other = the rest (Lightning bookkeeping, GPU idle).
"""

import argparse
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from chromagen.data import find_images
from chromagen.data.device_bank import DeviceImageBank
from chromagen.training import load_recipe
from chromagen.training.module import ColorizationModule

Mark = torch.cuda.Event | float


class Clock:
    """Time marks on the device's timeline: CUDA events (recorded without syncing) or perf_counter on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def mark(self) -> Mark:
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def seconds(self, start: Mark, end: Mark) -> float:
        """Elapsed time; for CUDA events only valid after a synchronize."""
        if isinstance(start, float) and isinstance(end, float):
            return end - start
        return start.elapsed_time(end) / 1000  # type: ignore[union-attr, arg-type]


def timed_batches(batches: Iterator[Tensor], clock: Clock, spans: list[tuple[Mark, Mark]]) -> Iterator[Tensor]:
    """Pass batches through, recording how long drawing each one took."""
    while True:
        start = clock.mark()
        batch = next(batches)
        spans.append((start, clock.mark()))
        yield batch


def gpu_utilization() -> str:
    """NVML's kernel-busy percentage over its last sample period (1/6 to 1 s): pynvml, else nvidia-smi."""
    try:
        return f"{torch.cuda.utilization()}%"
    except Exception as exc:  # pynvml missing or NVML unusable: optional telemetry must not stop the run
        reason = str(exc)
    try:
        query = ["nvidia-smi", f"--id={torch.cuda.current_device()}", "--query-gpu=utilization.gpu",
                 "--format=csv,noheader,nounits"]
        return f"{subprocess.run(query, capture_output=True, text=True, check=True).stdout.strip()}% (nvidia-smi)"
    except (OSError, subprocess.CalledProcessError):
        return f"n/a ({reason})"


class StepTimer(Callback):
    """Wall time of the steps after ``warmup``, the device time of each step, and the GPU utilization."""

    def __init__(self, clock: Clock, warmup: int, total: int) -> None:
        self.clock, self.warmup, self.total = clock, warmup, total
        self.steps: list[tuple[Mark, Mark]] = []
        self.start: Mark = 0.0
        self.wall = 0.0
        self.utilization = "n/a (CPU)"

    def _sync(self) -> None:
        if self.clock.cuda:
            torch.cuda.synchronize()

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: Tensor,
                             batch_idx: int) -> None:
        if batch_idx == self.warmup:
            self._sync()
            self.wall = -time.perf_counter()
        self.start = self.clock.mark()

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: object, batch: Tensor,
                           batch_idx: int) -> None:
        if batch_idx < self.warmup:
            return
        self.steps.append((self.start, self.clock.mark()))
        if batch_idx == self.total - 1:
            if self.clock.cuda:
                self.utilization = gpu_utilization()
            self._sync()
            self.wall += time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default", help="recipe name or YAML file")
    parser.add_argument("--data", nargs="+", help="training folders or tar shards (default: the recipe's)")
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=50, help="timed steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (compilation, autotuning)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator")
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")

    recipe = load_recipe(args.config)
    total = args.warmup + args.steps
    recipe = replace(recipe, model=replace(recipe.model, kwargs={**recipe.model.kwargs, "pretrained": False}),
                     data=replace(recipe.data, batch_size=args.batch_size),
                     trainer=replace(recipe.trainer, max_steps=total))
    data = recipe.data
    refs = find_images(args.data or data.train)[: args.limit]
    start = time.perf_counter()
    bank = DeviceImageBank.from_refs(refs, data.crop_size, data.store_size, data.min_scale, device=device)
    decode_s = time.perf_counter() - start

    module = ColorizationModule(recipe.to_dict())
    if args.compile or recipe.trainer.compile:
        module.generator.compile()
    clock = Clock(device)
    data_spans: list[tuple[Mark, Mark]] = []
    timer = StepTimer(clock, args.warmup, total)
    precision = "bf16-mixed" if device.type == "cuda" else "32-true"
    trainer = L.Trainer(accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, precision=precision,
                        max_epochs=1, limit_train_batches=total, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        use_distributed_sampler=False, callbacks=[timer])
    trainer.fit(module, timed_batches(bank.batches(data.batch_size, recipe.trainer.seed), clock, data_spans))

    first, last = timer.steps[0][0], timer.steps[-1][1]
    window = clock.seconds(first, last)
    data_s = sum(clock.seconds(a, b) for a, b in data_spans
                 if clock.seconds(first, a) >= 0 and clock.seconds(b, last) >= 0)
    model_s = sum(clock.seconds(a, b) for a, b in timer.steps)
    print(f"{args.config}: {recipe.model.name}, crop {data.crop_size}, store {data.store_size or data.crop_size}, "
          f"batch {data.batch_size}, {device.type} ({torch.cuda.get_device_name() if clock.cuda else 'CPU'}), "
          f"{precision}, compile {'on' if args.compile or recipe.trainer.compile else 'off'}, "
          f"torch {torch.__version__}")
    print(f"bank: {len(bank)} images decoded in {decode_s:.2f} s, {bank.images.nbytes / 2**20:.0f} MiB on {device}")
    if clock.cuda:
        print(f"throughput: {args.steps * data.batch_size / timer.wall:,.0f} images/s "
              f"({args.steps} steps after {args.warmup} warm-up steps)")
        print(f"GPU utilization (NVML, end of the timed steps): {timer.utilization}")
    else:
        print(f"{args.steps} steps after {args.warmup} warm-up steps (CPU: time ratios only, no images/s)")
    print(f"time of the timed steps: data sampling {data_s / window:.1%}, model step {model_s / window:.1%}, "
          f"other {1 - (data_s + model_s) / window:.1%}")


if __name__ == "__main__":
    main()
