"""The family benchmark (issue #15): every shipped model family trained on the same data and budget, then
scored by the 256x256 protocol against its own untrained start.

Three phases, so that the GPU machine (no Inception weights, only small files come back) does the heavy
work: ``train_families`` and ``predict_families`` run there; ``score_families`` runs where the FID
Inception lives and adds FID / KID (and LPIPS if it was missing) from the predicted ab stored as 8-bit PNGs.
``merge_runs`` joins partial runs of one budget (GPU time comes in short calls) before ``score``.
"""

import datetime
import io
import json
import shutil
import statistics
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from chromagen.color import lab_to_rgb, rgb_to_lab
from chromagen.defaults import DEFAULT_SIZE
from chromagen.errors import ChromagenError
from chromagen.evaluation.compare import loss_history
from chromagen.evaluation.metrics import quantize8
from chromagen.training.config import Recipe, load_recipe

# Order matters: resnet-unet-gan starts from this run's resnet-unet. Each twin follows its family.
FAMILIES: tuple[str, ...] = ("cnn", "resnet-cnn", "pix2pix", "resnet-unet", "resnet-unet-gan", "gan-resnet-cnn",
                             "attention-unet", "attention-unet-ungated", "fusion", "fusion-local", "classifier",
                             "default", "default-scratch")
# Controlled pairs: (family, its twin, what the family has that the twin lacks). Each pair differs in that one
# thing, so the sources' findings on it are measured as stated, not by proxy.
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("default", "default-scratch", "ImageNet-pretrained encoder"),
    ("resnet-unet-gan", "resnet-unet", "GAN stage after L1"),
    ("attention-unet", "attention-unet-ungated", "attention gates"),
    ("fusion", "fusion-local", "global classifier features"),
)
STARTS_FROM = {"resnet-unet-gan": "resnet-unet"}
START = "@start"  # result-row suffix of a family's untrained start
AB_OFFSET = 128
Log = Callable[[str], None]


@dataclass
class Budget:
    """What every family shares: data, generator steps, batch, crop, seed, validation."""

    data: list[str]
    val: list[str] = field(default_factory=list)
    steps: int = 1000  # generator updates, GAN or not
    batch: int = 32
    crop: int = 128
    min_scale: float = 0.25
    seed: int = 0
    val_every: int = 250  # generator steps between validations
    val_limit: int = 600
    log_every: int = 10
    num_workers: int = 2
    on_device: bool | None = None  # None: decode into a device bank when CUDA is available


def family_recipe(name: str, budget: Budget, runs: Path) -> Recipe:
    """A shipped recipe with the benchmark's shared overrides; its own model, loss and optimizer stay.

    GAN recipes count discriminator and generator updates in ``max_steps`` (see module.py), so they get
    ``steps * (1 + d_steps)`` to make ``steps`` generator updates like everyone else.
    """
    recipe = load_recipe(name)
    updates = 1 + recipe.gan.d_steps if recipe.gan else 1
    on_device = torch.cuda.is_available() if budget.on_device is None else budget.on_device
    data = replace(recipe.data, train=list(budget.data), val=list(budget.val), crop_size=budget.crop,
                   min_scale=budget.min_scale, batch_size=budget.batch, val_limit=budget.val_limit,
                   num_workers=budget.num_workers, on_device=on_device, store_size=None)
    trainer = replace(recipe.trainer, max_steps=budget.steps * updates, precision="auto", seed=budget.seed,
                      val_every_steps=max(1, min(budget.val_every, budget.steps)), log_every_steps=budget.log_every,
                      early_stop_patience=None)
    parent = STARTS_FROM.get(name)
    init_from = str(runs / parent / "model.safetensors") if parent else recipe.init_from
    return replace(recipe, data=data, trainer=trainer, init_from=init_from)


def updates_per_step(recipe: Recipe) -> int:
    """Optimizer steps (Lightning's global_step) per generator step."""
    return 1 + recipe.gan.d_steps if recipe.gan else 1


def export_start(recipe: Recipe, path: Path) -> Path:
    """The family's untrained start (seeded as fit seeds it) as a weights file, for the same evaluation.

    ``init_from`` is left out: a chained family (resnet-unet-gan) is judged against the network its whole
    pipeline starts from, not against its first stage's result.
    """
    import lightning as L

    from chromagen.models.weights import save_generator
    from chromagen.training.fit import start_module

    L.seed_everything(recipe.trainer.seed, verbose=False)
    module = start_module(replace(recipe, init_from=None))
    return save_generator(module.generator, recipe.model.name, recipe.model.kwargs, path)


def _curve(run: Path, tag: str) -> dict[str, list]:
    """A TensorBoard scalar; Lightning logs it by training batch, which is the generator step for GANs too."""
    steps, values = loss_history(run, tag)
    return {"steps": steps, "values": values}


def train_family(name: str, recipe: Recipe, run: Path) -> dict[str, Any]:
    """Export the untrained start, fit, and describe the result (JSON-ready); raises on failure."""
    from chromagen.training.fit import fit

    start = export_start(recipe, run / "start.safetensors")
    began = time.perf_counter()
    weights = fit(recipe, run, resume=False, progress=False)
    wall = time.perf_counter() - began
    last = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True, mmap=True)
    return {"status": "done", "wall_s": round(wall, 2), "steps": int(last["global_step"]) // updates_per_step(recipe),
            "weights": str(weights), "start": str(start), "model": recipe.model.name,
            "kwargs": recipe.model.kwargs, "loss": _curve(run, "train/loss"), "val_psnr": _curve(run, "val/psnr")}


def _safe_train(name: str, recipe_dict: dict[str, Any], run: str) -> dict[str, Any]:
    """``train_family`` for a worker process: a failure becomes a record, not a lost pool."""
    from chromagen.training.config import recipe_from_dict

    try:
        return train_family(name, recipe_from_dict(recipe_dict), Path(run))
    except Exception as exc:  # noqa: BLE001 - one family's failure must not stop the benchmark
        return {"status": "failed", "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"}


def write_json(data: dict[str, Any], path: Path) -> Path:
    """Atomically (tmp + rename): a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
    return path


class Schedule:
    """Which family may start now. A chained family waits for its start and is skipped when that did not
    train; with a deadline, a family is skipped when the mean wall time of the finished ones would overrun."""

    def __init__(self, names: list[str], runs: Path, deadline: float | None) -> None:
        self.pending = list(names)
        self.running: set[str] = set()
        self.runs = runs
        self.deadline = deadline
        self.began = time.perf_counter()
        self.walls: list[float] = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def _skip_reason(self, name: str, records: dict[str, dict[str, Any]]) -> str | None:
        parent = STARTS_FROM.get(name)
        if parent in records and records[parent]["status"] != "done":
            return f"its start {parent} is {records[parent]['status']}"
        if parent and not (self.runs / parent / "model.safetensors").is_file():
            return f"its start {parent} has no weights in {self.runs}"
        estimate = statistics.mean(self.walls) if self.walls else 0.0
        if self.deadline is not None and self.elapsed() + estimate > self.deadline:
            return f"deadline: {self.elapsed():.0f} s used + {estimate:.0f} s expected > {self.deadline:.0f} s"
        return None

    def next(self, records: dict[str, dict[str, Any]], skip: Callable[[str, str], None]) -> str | None:
        """The next family to start (``skip`` is told of the ones passed over); None when none can now."""
        for name in list(self.pending):
            if STARTS_FROM.get(name) in self.running | set(self.pending):
                continue  # waits for its start
            self.pending.remove(name)
            reason = self._skip_reason(name, records)
            if reason is None:
                self.running.add(name)
                return name
            skip(name, reason)
        return None


def train_families(names: list[str], budget: Budget, runs: Path, record: Path, deadline: float | None = None,
                   parallel: int = 1, log: Log = print, command: str | None = None) -> dict[str, Any]:
    """Train ``names`` in the given order (longest first packs a deadline best; a chained family waits for
    its start) at most ``parallel`` at once, in worker processes when more than one; the command
    and each family's start and end are written to ``record`` at once, so a killed run keeps what it did
    and names what it was doing.

    A chained family (resnet-unet-gan) starts from this run's start family, or the one already in ``runs``.
    """
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise ChromagenError(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    result: dict[str, Any] = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                              "budget": asdict(budget), "deadline_s": deadline, "parallel": parallel,
                              "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                              "on_device": family_recipe(FAMILIES[0], budget, runs).data.on_device, "families": {},
                              "command": command}
    records: dict[str, dict[str, Any]] = result["families"]
    schedule = Schedule(list(dict.fromkeys(names)), runs, deadline)  # in the given order; chains wait
    write_json(result, record)

    def finish(name: str, outcome: dict[str, Any]) -> None:
        records[name] = outcome
        schedule.running.discard(name)
        if outcome["status"] == "done":
            schedule.walls.append(outcome["wall_s"])
            log(f"{name}: done in {outcome['wall_s']:.1f} s, {outcome['steps']} steps")
        else:
            log(f"{name}: {outcome['status']}: {outcome['error']}")
        write_json(result, record)

    def skip(name: str, reason: str) -> None:
        finish(name, {"status": "skipped", "error": reason})

    def job(name: str) -> tuple[str, dict[str, Any], str]:
        log(f"training {name} at {schedule.elapsed():.0f} s")
        records[name] = {"status": "running", "error": f"started at {schedule.elapsed():.0f} s, never finished"}
        write_json(result, record)
        return name, family_recipe(name, budget, runs).to_dict(), str(runs / name)

    if parallel <= 1:
        while (name := schedule.next(records, skip)) is not None:
            finish(name, _safe_train(*job(name)))
        return result
    with ProcessPoolExecutor(parallel, mp_context=get_context("spawn")) as pool:
        futures: dict[Future, str] = {}
        while schedule.pending or futures:
            while len(futures) < parallel and (name := schedule.next(records, skip)) is not None:
                futures[pool.submit(_safe_train, *job(name))] = name
            if futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(futures.pop(future), future.result())
    return result


# -- predicted ab as 8-bit PNGs ----------------------------------------------------------------------------


def ab_to_png(ab: Tensor) -> bytes:
    """(2, H, W) ab in Lab units -> PNG bytes, a and b rounded to integers + 128 in the L and A planes."""
    planes = (ab.round() + AB_OFFSET).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(planes), "LA").save(buffer, "PNG")
    return buffer.getvalue()


def png_to_ab(data: bytes) -> Tensor:
    """The inverse of :func:`ab_to_png`: (2, H, W) float ab."""
    with Image.open(io.BytesIO(data)) as image:
        planes = np.asarray(image.convert("LA"), dtype=np.float32)
    return torch.from_numpy(planes).permute(2, 0, 1) - AB_OFFSET


def compose(lightness: Tensor, ab: Tensor) -> Tensor:
    """8-bit sRGB (N, 3, H, W) from L and ab, as the protocol composes a prediction."""
    return quantize8(lab_to_rgb(torch.cat([lightness, ab], dim=1)))


class AbTars:
    """Tar files of at most ``part_bytes`` each and ``total_bytes`` in all, members ``SET/ROW/NNNN.png``.

    A (set, row) that does not fit whole is dropped whole (FID over part of a set is not that set's FID)
    and named in ``dropped``; ``stored[set][row]`` lists the files each stored PNG predicts, in order.
    """

    def __init__(self, folder: Path, part_bytes: int, total_bytes: int) -> None:
        self.folder = folder
        self.part_bytes, self.total_bytes = part_bytes, total_bytes
        self.pending: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
        self.stored: dict[str, dict[str, list[str]]] = {}
        self.dropped: list[str] = []
        self.parts: list[Path] = []
        self._tar: tarfile.TarFile | None = None
        self._written = 0

    def add(self, set_name: str, row: str, files: list[str], ab: Tensor) -> None:
        """Buffer one batch's ab (N, 2, H, W) until ``flush`` writes the whole (set, row)."""
        self.pending.setdefault((set_name, row), []).extend(
            (file, ab_to_png(one)) for file, one in zip(files, ab))

    def flush(self) -> None:
        """Write every buffered (set, row) that fits, whole."""
        for (set_name, row), items in self.pending.items():
            size = sum(len(data) + 1024 for _, data in items)  # + tar header and padding
            if size > self.part_bytes or self._written + size > self.total_bytes:
                self.dropped.append(f"{set_name}/{row}")
                continue
            tar = self._part_for(size)
            for index, (_, data) in enumerate(items):
                info = tarfile.TarInfo(f"{set_name}/{row}/{index:04d}.png")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            tar.fileobj.flush()  # type: ignore[union-attr]
            self._written += size
            self.stored.setdefault(set_name, {})[row] = [file for file, _ in items]
        self.pending.clear()

    def _part_for(self, size: int) -> tarfile.TarFile:
        current = self.parts[-1].stat().st_size if self.parts else 0
        if self._tar is None or current + size > self.part_bytes:
            self.close()
            self.parts.append(self.folder / f"ab-{len(self.parts):02d}.tar")
            self._tar = tarfile.open(self.parts[-1], "w")
        return self._tar

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None


def read_tars(paths: list[Path]) -> dict[str, bytes]:
    """Every member of the tars by name."""
    members = {}
    for path in paths:
        with tarfile.open(path) as tar:
            for info in tar.getmembers():
                if info.isfile():
                    members[info.name] = tar.extractfile(info).read()  # type: ignore[union-attr]
    return members


def stored_ab(members: dict[str, bytes], set_name: str, row: str, indices: range | list[int]) -> Tensor:
    """(N, 2, H, W) ab of the ``indices``-th stored images of one (set, row) (all of one size)."""
    return torch.stack([png_to_ab(members[f"{set_name}/{row}/{i:04d}.png"]) for i in indices])


# -- predict (on the training machine) ---------------------------------------------------------------------


def legacy_image(path: Path, long_side: int = 256) -> Tensor:
    """A photo without ground truth, long side resized to ``long_side`` (bicubic), (3, H, W) in [0, 1]."""
    from chromagen.media.image import load_image, to_depth

    image = Image.fromarray(to_depth(load_image(path).pixels, np.uint8)).convert("RGB")
    scale = long_side / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)


def trained_rows(train: dict[str, Any]) -> dict[str, str]:
    """Result row -> weights: each trained family, then its untrained start."""
    rows = {}
    for name, record in train["families"].items():
        if record["status"] == "done":
            rows.update({name: record["weights"], name + START: record["start"]})
    return rows


def lpips_available() -> bool:
    """LPIPS needs the lpips wheel and the AlexNet trunk that ``chromagen assets`` caches; without them
    LPIPS is left to ``score``."""
    try:
        from chromagen.evaluation.lpips_offline import build_lpips

        build_lpips("cpu")
    except (ImportError, ChromagenError):
        return False
    return True


def _relative(path: Path | str, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def predict_families(train: dict[str, Any], sets: dict[str, Path], stored_sets: list[str], out: Path,
                     legacy: Path | None = None, device: str = "cpu", limit: int | None = None,
                     size: int = 256, working_size: int | None = None, lpips: bool = True, store_starts: bool = False,
                     part_mb: float = 14.0, total_mb: float = 55.0, legacy_count: int = 8,
                     log: Log = print) -> dict[str, Any]:
    """Score every trained family and its start on each set (no FID); store the predicted ab of the
    ``stored_sets`` and of the first ``legacy_count`` legacy photos in tars under ``out``."""
    from chromagen.evaluation.runner import Protocol, evaluate, list_images, make_predictors

    rows = trained_rows(train)
    if not rows:
        raise ChromagenError("no trained family to predict with")
    lpips = lpips and lpips_available()
    tars = AbTars(out, int(part_mb * 1e6), int(total_mb * 1e6))
    result: dict[str, Any] = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                              "device": device, "lpips": lpips, "sets": {}, "roots": {}}
    for set_name, root in sets.items():
        began = time.perf_counter()
        protocol = Protocol(size=size, limit=limit, working_size=working_size, fid=False, lpips=lpips, batch_size=16)

        def keep(row: str, files: list[Path], lab: Tensor, set_name: str = set_name, root: Path = root) -> None:
            if store_starts or not row.endswith(START):
                tars.add(set_name, row, [_relative(f, root) for f in files], lab[:, 1:])

        scored, _ = evaluate(rows, root, protocol, device=device, samples=0,
                             on_predictions=keep if set_name in stored_sets else None)
        scored.pop("images")
        result["sets"][set_name] = scored
        result["roots"][set_name] = str(root)
        tars.flush()
        log(f"{set_name}: {len(list_images(root, limit))} images, {len(rows)} rows in "
            f"{time.perf_counter() - began:.1f} s")
    if legacy is not None:
        files = list_images(legacy, legacy_count)
        result["legacy"] = {"root": str(legacy), "files": [_relative(f, legacy) for f in files]}
        for row, weights in rows.items():
            if row.endswith(START):
                continue
            (predictor,) = make_predictors(row, weights, device, working_size or DEFAULT_SIZE).values()
            for file in files:
                lightness = rgb_to_lab(legacy_image(file)[None])[:, :1]
                tars.add("legacy", row, [_relative(file, legacy)], predictor.predict(lightness.to(device), None)
                         .cpu()[:, 1:])
        tars.flush()
    tars.close()
    result.update(stored=tars.stored, dropped=tars.dropped, tars=[p.name for p in tars.parts])
    return result


# -- merge (partial runs of one budget) --------------------------------------------------------------------


@dataclass
class Run:
    """One partial run as it came back: its train.json and predict.json, and its ab tars in order."""

    folder: Path
    train: dict[str, Any]
    predict: dict[str, Any]
    tars: list[Path]
    families: frozenset[str] | None = None  # take only these families from this run (None: all)

    def keeps(self, row: str) -> bool:
        """Whether a result row (``NAME`` or ``NAME@start``) or family is taken from this run."""
        return self.families is None or row.removesuffix(START) in self.families

    def kept(self, rows: dict[str, Any]) -> dict[str, Any]:
        return {row: value for row, value in rows.items() if self.keeps(row)}


def tar_names(paths: list[Path]) -> set[str]:
    """The member names of the tars."""
    names: set[str] = set()
    for path in paths:
        with tarfile.open(path) as tar:
            names.update(tar.getnames())
    return names


def check_tars(run: Run) -> None:
    """The tars must be the ones this run's predict wrote: every run names its first tar ab-00.tar, so a
    mix-up is easy and would silently score one family's ab as another's."""
    given = [path.name for path in run.tars]
    if given != run.predict["tars"]:
        raise ChromagenError(f"{run.folder}: tars {given} given, its predict.json wrote {run.predict['tars']}")
    expected = {f"{set_name}/{row}/{i:04d}.png" for set_name, rows in run.predict["stored"].items()
                for row, files in rows.items() for i in range(len(files))}
    found = tar_names(run.tars)
    if found != expected:
        odd = sorted(found ^ expected)
        raise ChromagenError(f"{run.folder}: the tars do not hold what its predict.json stored ({len(odd)} "
                             f"members differ, e.g. {odd[0]})")


def _differences(a: dict[str, Any], b: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    return sorted(key for key in a.keys() | b.keys() if key not in ignore and a.get(key) != b.get(key))


def check_same_benchmark(runs: list[Run]) -> None:
    """Only the families may differ between merged runs: the same budget, and the same sets, photos and
    protocol in predict; otherwise their rows would not belong in one table."""
    first = runs[0]
    for run in runs[1:]:
        where = f"{run.folder} and {first.folder}"
        if differ := _differences(first.train["budget"], run.train["budget"]):
            raise ChromagenError(f"{where}: budgets differ in {', '.join(differ)}")
        if differ := _differences(first.predict, run.predict, ("date", "command", "device", "lpips", "sets",
                                                                 "stored", "dropped", "tars")):
            raise ChromagenError(f"{where}: predict differs in {', '.join(differ)}")
        if list(first.predict["sets"]) != list(run.predict["sets"]):
            raise ChromagenError(f"{where}: sets differ ({list(first.predict['sets'])} vs {list(run.predict['sets'])})")
        for name, scored in run.predict["sets"].items():
            if differ := _differences(first.predict["sets"][name]["protocol"], scored["protocol"], ("date", "device")):
                raise ChromagenError(f"{where}: the {name} protocol differs in {', '.join(differ)}")


def merge_families(runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Each family's record, tagged with its run's index: the run that trained it (refused when two did:
    which would the tables show?), else the last run's word on it; in FAMILIES order."""
    merged: dict[str, dict[str, Any]] = {}
    for index, run in enumerate(runs):
        for name, record in run.kept(run.train["families"]).items():
            earlier = merged.get(name, {})
            if record["status"] == "done" and earlier.get("status") == "done":
                raise ChromagenError(f"{name} is done in both {runs[earlier['run']].folder} and {run.folder}")
            if earlier.get("status") != "done":
                merged[name] = {**record, "run": index}
    return {name: merged[name] for name in sorted(merged, key=_family_order)}


def _family_order(row: str) -> tuple[int, bool]:
    """FAMILIES order, each family's start after it."""
    name = row.removesuffix(START)
    return (FAMILIES.index(name) if name in FAMILIES else len(FAMILIES), row.endswith(START))


def _union(parts: list[dict[str, Any]], what: str) -> dict[str, Any]:
    """Dicts with disjoint keys as one, in family order; a key in two runs is refused."""
    merged: dict[str, Any] = {}
    for part in parts:
        if twice := sorted(merged.keys() & part.keys()):
            raise ChromagenError(f"{what}: {', '.join(twice)} in two runs")
        merged.update(part)
    return {key: merged[key] for key in sorted(merged, key=_family_order)}


def merge_sets(runs: list[Run]) -> dict[str, Any]:
    """Each set's rows and accuracy curves from every run, under the first run's (common) protocol."""
    return {name: {"protocol": scored["protocol"],
                   **{part: _union([run.kept(run.predict["sets"][name][part]) for run in runs], f"{name} {part}")
                      for part in ("models", "curves")}}
            for name, scored in runs[0].predict["sets"].items()}


def merge_stored(runs: list[Run]) -> dict[str, dict[str, list[str]]]:
    """Which (set, row) ab the merged tars hold, set by set."""
    names = list(dict.fromkeys(name for run in runs for name in run.predict["stored"]))
    return {name: _union([run.kept(run.predict["stored"].get(name, {})) for run in runs], f"stored {name}")
            for name in names}


def copy_tars(runs: list[Run], out: Path) -> list[dict[str, str]]:
    """Copy every run's tars to ``out`` as ab-00.tar, ab-01.tar, ... in run order; per run, old name -> new.
    A run limited to some families gives only their members (``SET/ROW/NNNN.png``), so that no two tars
    hold the same member."""
    renames: list[dict[str, str]] = []
    count = 0
    for run in runs:
        renames.append({})
        for path in run.tars:
            target = out / f"ab-{count:02d}.tar"
            if run.families is None:
                shutil.copyfile(path, target)
            else:
                with tarfile.open(path) as source, tarfile.open(target, "w") as kept:
                    for member in source.getmembers():
                        if run.keeps(member.name.split("/")[1]):
                            kept.addfile(member, source.extractfile(member))
            renames[-1][path.name] = target.name
            count += 1
    return renames


def _joined(values: list[Any]) -> Any:
    """The one value all runs share, else the distinct ones joined by ' / '."""
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else " / ".join(map(str, distinct))


def merge_runs(runs: list[Run], out: Path, command: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(train, predict) of partial runs of one budget as if one run had made them; their tars are copied to
    ``out`` renumbered. Each record keeps where it came from in ``runs`` (commands, dates, deadlines)."""
    if len(runs) < 2:
        raise ChromagenError("merge needs two or more runs")
    if stale := sorted(out.glob("ab-*.tar")):
        raise ChromagenError(f"{out} already holds {stale[0].name}: merge into a fresh folder")
    for run in runs:
        if "merge" in run.train:
            raise ChromagenError(f"{run.folder} is a merge already: merge the runs it lists together with the new ones")
        if run.families is not None and (absent := sorted(run.families - run.train["families"].keys())):
            raise ChromagenError(f"{run.folder} has no family {', '.join(absent)} to take")
        check_tars(run)
    check_same_benchmark(runs)
    families, sets, stored = merge_families(runs), merge_sets(runs), merge_stored(runs)
    out.mkdir(parents=True, exist_ok=True)
    renames = copy_tars(runs, out)
    merged = {"command": command, "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    train = {"date": runs[0].train["date"], "budget": runs[0].train["budget"],
             "cuda": _joined([run.train.get("cuda") for run in runs]),
             "on_device": _joined([run.train.get("on_device") for run in runs]), "families": families,
             "runs": [{"folder": str(run.folder), **{key: run.train.get(key) for key in
                      ("date", "command", "deadline_s", "parallel", "cuda")}} for run in runs], "merge": merged}
    predict = {**{key: value for key, value in runs[0].predict.items() if key not in ("command",)},
               "device": _joined([run.predict["device"] for run in runs]),
               "lpips": all(run.predict["lpips"] for run in runs), "sets": sets, "stored": stored,
               "dropped": [entry for run in runs for entry in run.predict["dropped"] if run.keeps(entry.split("/")[1])],
               "tars": [name for names in renames for name in names.values()],
               "runs": [{"folder": str(run.folder), "date": run.predict["date"], "command": run.predict.get("command"),
                         "tars": names} for run, names in zip(runs, renames)], "merge": merged}
    return train, predict


# -- score (where the Inception weights are) ---------------------------------------------------------------


def score_families(train: dict[str, Any], predicted: dict[str, Any], tars: list[Path], roots: dict[str, Path],
                   lpips: bool = True, log: Log = print) -> dict[str, Any]:
    """FID and KID (and LPIPS where predict had no AlexNet) of every stored (set, row), from the truth's L
    and the stored ab composed as the protocol composes them; one results dict with train and predict.
    FID and KID stay None below the minimum photo counts its protocol recorded (``runner.fid_kid``, as
    ``chromagen evaluate``)."""
    from chromagen.evaluation.fid import inception_features
    from chromagen.evaluation.runner import fid_kid, protocol_image

    members = read_tars(tars)
    for set_name, rows in predicted["stored"].items():
        if set_name == "legacy":
            continue
        began = time.perf_counter()
        scored = predicted["sets"][set_name]
        files = next(iter(rows.values()))
        truth = torch.stack([protocol_image(roots[set_name] / f, scored["protocol"]["size"]) for f in files])
        lightness = rgb_to_lab(truth)[:, :1]
        truth_features = inception_features(truth)
        for row, row_files in rows.items():
            if row_files != files:
                raise ChromagenError(f"{set_name}/{row}: stored for other files than the set's other rows")
            pred = compose(lightness, stored_ab(members, set_name, row, range(len(files))))
            features = inception_features(pred)
            entry = scored["models"][row]
            entry.update(fid_kid(features, truth_features, scored["protocol"]["fid_min_images"],
                                 scored["protocol"]["kid_min_images"]))
            if entry.get("lpips") is None and lpips:
                from chromagen.evaluation.lpips_offline import lpips_distance

                entry["lpips"] = float(lpips_distance(pred, truth).mean())
        log(f"{set_name}: FID/KID of {len(rows)} rows on {len(files)} images in {time.perf_counter() - began:.1f} s")
    return {"train": train, "predict": predicted,
            "score": {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                      "roots": {k: str(v) for k, v in roots.items()}}}
