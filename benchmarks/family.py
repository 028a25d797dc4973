"""The family benchmark (issue #15): train every model family on the same data and budget, score each
against its untrained start by the 256x256 protocol, then FID/KID and a report.

    python benchmarks/family.py train   --data SHARDS --val VAL --steps N --batch B --runs RUNS --out OUT
    python benchmarks/family.py predict --out OUT --val VAL --bench ROOT/cbsd68 ... --legacy LEGACY
    python benchmarks/family.py merge   --run OUT1 [TAR ...] --run OUT2[:FAMILY,...] [TAR ...] --out MERGED
    python benchmarks/family.py score   --out OUT --bench-root /work/shared/data/bench
    python benchmarks/family.py report  --results OUT/results.json --legacy /work/shared/data/legacy

``train`` and ``predict`` run on the training machine (benchmarks/family_gpu.sh runs both), ``score`` and
``report`` where the FID Inception weights are. ``merge`` joins partial runs of the same budget (families
split over several GPU calls) into one OUT before ``score``. Logic: chromagen.evaluation.family and
chromagen.evaluation.family_report.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

from chromagen.errors import ChromagenError
from chromagen.evaluation import family

TRAIN_JSON, PREDICT_JSON, RESULTS_JSON = "train.json", "predict.json", "results.json"


def _log(message: str) -> None:
    print(message, flush=True)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ChromagenError(f"{path}: cannot read ({exc})") from exc


def train(args: argparse.Namespace) -> None:
    budget = family.Budget(data=args.data, val=args.val or [], steps=args.steps, batch=args.batch, crop=args.crop,
                           min_scale=args.min_scale, seed=args.seed, val_every=args.val_every,
                           val_limit=args.val_limit, log_every=args.log_every, num_workers=args.workers)
    family.train_families(args.families, budget, args.runs, args.out / TRAIN_JSON, args.deadline, args.parallel,
                          _log, args.command_line)


def _sets(paths: list[Path]) -> dict[str, Path]:
    """Sets by folder name (bench/kodak24 -> kodak24)."""
    return {path.name: path for path in paths}


def predict(args: argparse.Namespace) -> None:
    from chromagen.backends.torch_backend import resolve_device

    bench = _sets(args.bench or [])
    sets = {"val": args.val, **bench} if args.val else bench
    result = family.predict_families(_read(args.out / TRAIN_JSON), sets, list(bench), args.out, args.legacy,
                                     str(resolve_device(args.device)), args.limit, args.size, args.working_size,
                                     not args.no_lpips, args.store_starts, args.part_mb, args.total_mb,
                                     args.legacy_count, _log)
    result["command"] = args.command_line
    family.write_json(result, args.out / PREDICT_JSON)


def merge(args: argparse.Namespace) -> None:
    runs = []
    for given, *tars in args.parts:
        folder, _, names = given.partition(":")
        folder = Path(folder)
        predicted = _read(folder / PREDICT_JSON)
        runs.append(family.Run(folder, _read(folder / TRAIN_JSON), predicted,
                               [Path(t) for t in tars] or [folder / name for name in predicted["tars"]],
                               frozenset(names.split(",")) if names else None))
    train, predicted = family.merge_runs(runs, args.out, args.command_line)
    family.write_json(train, args.out / TRAIN_JSON)
    family.write_json(predicted, args.out / PREDICT_JSON)
    _log(f"merged {len(runs)} runs into {args.out}: {', '.join(predicted['tars'])}")


def score(args: argparse.Namespace) -> None:
    predicted = _read(args.out / PREDICT_JSON)
    roots = {name: args.bench_root / name for name in predicted["stored"] if name != "legacy"}
    result = family.score_families(_read(args.out / TRAIN_JSON), predicted, sorted(args.out.glob("ab-*.tar")),
                                   roots, not args.no_lpips, _log)
    result["score"].update(command=args.command_line, out=str(args.out.resolve()))  # report finds the tars there
    family.write_json(result, args.results or args.out / RESULTS_JSON)


def report(args: argparse.Namespace) -> None:
    from chromagen.evaluation.family_report import write_family_report

    results = _read(args.results)
    tars = Path(args.out or results["score"]["out"])
    path = write_family_report(results, sorted(tars.glob("ab-*.tar")), args.bench_root, args.legacy, args.doc,
                               args.figures, args.command_line, args.grid_rows)
    _log(f"wrote {path}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train every family on the same data and budget")
    t.add_argument("--data", action="append", required=True, help="training shard or folder (repeatable)")
    t.add_argument("--val", action="append", help="validation folder (repeatable); none: no validation")
    t.add_argument("--steps", type=int, required=True, help="generator updates per family (GAN or not)")
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--min-scale", type=float, default=0.25)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--val-every", type=int, default=250, help="generator steps between validations")
    t.add_argument("--val-limit", type=int, default=600)
    t.add_argument("--log-every", type=int, default=10)
    t.add_argument("--workers", type=int, default=2, help="data loader workers (validation; CPU training)")
    t.add_argument("--families", nargs="+", default=list(family.FAMILIES), choices=family.FAMILIES,
                   help="trained in this order (longest first packs a deadline best)")
    t.add_argument("--deadline", type=float, help="seconds: skip a family that would likely end after this")
    t.add_argument("--parallel", type=int, default=1, help="families trained at once, in worker processes")
    t.add_argument("--runs", type=Path, required=True, help="checkpoints and weights (large; not returned)")
    t.add_argument("--out", type=Path, required=True, help="small results: train.json")
    t.set_defaults(run=train)
    p = sub.add_parser("predict", help="score trained families and their starts; store bench ab for FID")
    p.add_argument("--out", type=Path, required=True, help="holds train.json; gets predict.json and ab-*.tar")
    p.add_argument("--val", type=Path, help="validation folder, scored as set 'val' (ab not stored)")
    p.add_argument("--bench", type=Path, action="append", help="bench set folder (repeatable; ab stored)")
    p.add_argument("--legacy", type=Path, help="photos without truth: predictions of the first few stored")
    p.add_argument("--legacy-count", type=int, default=8)
    p.add_argument("--limit", type=int, help="first N images of each set")
    p.add_argument("--size", type=int, default=256, help="protocol size (256; less only for quick checks)")
    p.add_argument("--working-size", type=int, help="resolution the models run at (default: colorize's)")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-lpips", action="store_true", help="skip LPIPS here (score computes it)")
    p.add_argument("--store-starts", action="store_true", help="store the untrained starts' ab too")
    p.add_argument("--part-mb", type=float, default=14.0, help="size limit of each ab tar")
    p.add_argument("--total-mb", type=float, default=55.0, help="size limit of all ab tars together")
    p.set_defaults(run=predict)
    m = sub.add_parser("merge", help="partial runs of one budget as one: train.json, predict.json, ab-NN.tar")
    m.add_argument("--run", dest="parts", nargs="+", action="append", required=True, metavar=("FOLDER", "TAR"),
                   help="a run's folder (train.json, predict.json), then its ab tars in order if they lie "
                        "elsewhere (default: FOLDER/ab-*.tar as predict.json names them); repeat per run. "
                        "FOLDER:cnn,default takes only those families from that run")
    m.add_argument("--out", type=Path, required=True, help="a fresh folder for the merged run")
    m.set_defaults(run=merge)
    s = sub.add_parser("score", help="FID, KID (and missing LPIPS) from the stored ab; merge into results.json")
    s.add_argument("--out", type=Path, required=True, help="folder with train.json, predict.json, ab-*.tar")
    s.add_argument("--bench-root", type=Path, default=Path("/work/shared/data/bench"))
    s.add_argument("--results", type=Path, help="default: OUT/results.json (give one where OUT is read-only)")
    s.add_argument("--no-lpips", action="store_true")
    s.set_defaults(run=score)
    r = sub.add_parser("report", help="docs/family.md and its figures from results.json")
    r.add_argument("--results", type=Path, required=True, help="results.json from score")
    r.add_argument("--out", type=Path, help="folder of the ab tars (default: the one score read)")
    r.add_argument("--bench-root", type=Path, default=Path("/work/shared/data/bench"))
    r.add_argument("--legacy", type=Path, default=Path("/work/shared/data/legacy"))
    r.add_argument("--doc", type=Path, default=Path("docs/family.md"))
    r.add_argument("--figures", type=Path, default=Path("docs/family"))
    r.add_argument("--grid-rows", type=int, default=2, help="photos per bench set in the grid")
    r.set_defaults(run=report)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    args.command_line = "python benchmarks/family.py " + shlex.join(argv)  # named by every output
    try:
        args.run(args)
    except ChromagenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
