"""The family benchmark: recipes with shared overrides, the 8-bit ab store, KID, and the whole pipeline
train -> predict -> score -> report on tiny generated photos."""

import json
import sys
import tarfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from chromagen.evaluation.family import (
    FAMILIES,
    PAIRS,
    START,
    AbTars,
    Budget,
    Run,
    Schedule,
    ab_to_png,
    compose,
    family_recipe,
    merge_runs,
    png_to_ab,
    read_tars,
    stored_ab,
    train_families,
)
from chromagen.errors import ChromagenError
from chromagen.evaluation.family_report import (
    FINDINGS_PLACEHOLDER,
    complexity,
    grid_caption,
    grid_layout,
    kept_findings,
    missing_reason,
    pair_table,
)
from chromagen.evaluation.fid import kid
from chromagen.evaluation.metrics import psnr
from chromagen.evaluation.runner import protocol_image
from chromagen.models.weights import load_generator
from chromagen.training.config import load_recipe
from tests.conftest import REPO, smooth_color_image

sys.path.insert(0, str(REPO / "benchmarks"))
import family as family_cli  # noqa: E402  (benchmarks/family.py)


def test_ab_png_round_trip_is_rounding() -> None:
    ab = torch.empty(2, 2, 9, 7).uniform_(-140, 140, generator=torch.Generator().manual_seed(0))
    ab[0, 0, 0, :3] = torch.tensor([-0.5, 0.5, 127.4])
    for one in ab:
        assert torch.equal(png_to_ab(ab_to_png(one)), one.round().clamp(-128, 127))


def test_kid_matches_a_hand_computed_case() -> None:
    # d = 1, k(u, v) = (u v + 1)^3. Within x: k(0, 1) = 1; within y: k(1, 2) = 27;
    # across: k(0, 1), k(0, 2), k(1, 1), k(1, 2) = 1, 1, 8, 27, mean 9.25. KID = 1 + 27 - 2 * 9.25.
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[1.0], [2.0]])
    assert kid(x, y) == pytest.approx(9.5)
    assert kid(y, x) == pytest.approx(9.5)
    features = torch.randn(40, 8, generator=torch.Generator().manual_seed(1))
    assert abs(kid(features[:20], features[20:])) < kid(features[:20], features[20:] + 1.0)


def test_every_family_shares_the_budget_and_gans_get_as_many_generator_steps(tmp_path: Path) -> None:
    budget = Budget(data=["shard.tar"], val=["val"], steps=7, batch=3, crop=64, seed=5, val_every=100)
    for name in FAMILIES:
        recipe = family_recipe(name, budget, tmp_path)
        assert (recipe.data.train, recipe.data.val, recipe.data.batch_size, recipe.data.crop_size) == \
               (["shard.tar"], ["val"], 3, 64)
        assert (recipe.trainer.seed, recipe.trainer.val_every_steps, recipe.trainer.precision) == (5, 7, "auto")
        assert recipe.trainer.max_steps == (14 if recipe.gan else 7), name
    assert family_recipe("resnet-unet-gan", budget, tmp_path).init_from == str(
        tmp_path / "resnet-unet" / "model.safetensors")


def test_a_set_that_does_not_fit_is_dropped_whole(tmp_path: Path) -> None:
    tars = AbTars(tmp_path, part_bytes=10_000, total_bytes=10_000)
    noise = torch.randint(-100, 100, (3, 2, 64, 64)).float()  # incompressible: about 8 kB a PNG
    tars.add("small", "a", ["x.jpg"], torch.zeros(1, 2, 8, 8))
    tars.add("big", "a", ["1.jpg", "2.jpg", "3.jpg"], noise)
    tars.flush()
    tars.close()
    assert tars.stored == {"small": {"a": ["x.jpg"]}} and tars.dropped == ["big/a"]
    assert list(read_tars(tars.parts)) == ["small/a/0000.png"]


def test_deadline_and_missing_start_skip_without_training(tmp_path: Path) -> None:
    result = train_families(["resnet-unet-gan"], Budget(data=["none"]), tmp_path / "runs", tmp_path / "t.json")
    assert result["families"]["resnet-unet-gan"]["status"] == "skipped"
    assert "no weights" in result["families"]["resnet-unet-gan"]["error"]
    result = train_families(["cnn"], Budget(data=["none"]), tmp_path / "runs", tmp_path / "t.json", deadline=0)
    assert result["families"]["cnn"]["status"] == "skipped" and "deadline" in result["families"]["cnn"]["error"]
    assert json.loads((tmp_path / "t.json").read_text())["families"] == result["families"]


def test_a_killed_run_records_its_command_and_what_it_was_training(tmp_path: Path, monkeypatch) -> None:
    import chromagen.evaluation.family as family

    def killed(*args: object) -> dict:
        raise KeyboardInterrupt  # stands in for the time limit killing the run mid-family

    monkeypatch.setattr(family, "_safe_train", killed)
    with pytest.raises(KeyboardInterrupt):
        train_families(["cnn"], Budget(data=["none"]), tmp_path / "runs", tmp_path / "t.json", command="family.py train")
    written = json.loads((tmp_path / "t.json").read_text())
    assert written["command"] == "family.py train" and written["families"]["cnn"]["status"] == "running"


def test_a_chained_family_waits_for_its_start_while_others_go_ahead(tmp_path: Path) -> None:
    schedule = Schedule(["resnet-unet", "resnet-unet-gan", "cnn"], tmp_path, deadline=None)
    skipped: list[str] = []
    assert schedule.next({}, lambda name, reason: skipped.append(name)) == "resnet-unet"
    assert schedule.next({}, lambda name, reason: skipped.append(name)) == "cnn"  # the GAN stage waits
    assert schedule.next({}, lambda name, reason: skipped.append(name)) is None
    schedule.running.discard("resnet-unet")
    (tmp_path / "resnet-unet").mkdir()
    (tmp_path / "resnet-unet" / "model.safetensors").write_bytes(b"")
    records = {"resnet-unet": {"status": "done"}}
    assert schedule.next(records, lambda name, reason: skipped.append(name)) == "resnet-unet-gan"
    assert not skipped and not schedule.pending


def _photos(folder: Path, count: int, seed: int, gray: bool = False) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        image = Image.fromarray(smooth_color_image(40 + 3 * i, 56, seed=seed + i))
        (image.convert("L") if gray else image).save(folder / f"p{i}.jpg", quality=95)
    return folder


def test_train_predict_score_report(tmp_path: Path) -> None:
    data = tmp_path / "data"
    train_dir, val = _photos(data / "train", 8, 0), _photos(data / "val", 2, 20)
    bench = [_photos(data / "bench" / name, 3, 30 + 10 * i) for i, name in enumerate(("setA", "setB"))]
    legacy = _photos(data / "legacy", 2, 60, gray=True)
    out, runs = tmp_path / "out", tmp_path / "runs"
    assert family_cli.main(["train", "--data", str(train_dir), "--val", str(val), "--steps", "2", "--batch", "2",
                            "--crop", "32", "--val-every", "1", "--log-every", "1", "--workers", "0", "--families",
                            "resnet-unet-gan", "resnet-unet", "--runs", str(runs), "--out", str(out)]) == 0
    train = json.loads((out / "train.json").read_text())
    assert list(train["families"]) == ["resnet-unet", "resnet-unet-gan"]  # the start first, whatever the order
    for name, record in train["families"].items():
        assert record["status"] == "done" and record["steps"] == 2 and record["wall_s"] > 0, record
        assert len(record["loss"]["values"]) == 2 and record["val_psnr"]["values"], record
    gan_steps = torch.load(runs / "resnet-unet-gan" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert gan_steps == 4  # 2 generator + 2 discriminator updates
    # The chain's untrained start is the network its whole pipeline starts from, not its first stage's result.
    parent, _ = load_generator(train["families"]["resnet-unet"]["start"])
    start, _ = load_generator(train["families"]["resnet-unet-gan"]["start"])
    assert all(torch.equal(a, b) for a, b in zip(parent.state_dict().values(), start.state_dict().values()))
    trained, _ = load_generator(train["families"]["resnet-unet"]["weights"])
    assert not all(torch.equal(a, b) for a, b in zip(trained.state_dict().values(), start.state_dict().values()))

    assert family_cli.main(["predict", "--out", str(out), "--val", str(val), "--bench", str(bench[0]), "--bench",
                            str(bench[1]), "--legacy", str(legacy), "--device", "cpu", "--size", "64", "--working-size", "64"]) == 0
    predicted = json.loads((out / "predict.json").read_text())
    assert list(predicted["sets"]) == ["val", "setA", "setB"]
    for scored in predicted["sets"].values():
        rows = scored["models"]
        assert set(rows) == {"resnet-unet", "resnet-unet@start", "resnet-unet-gan", "resnet-unet-gan@start"}
        assert rows["resnet-unet-gan" + START]["psnr"] == rows["resnet-unet" + START]["psnr"]  # the same start
        assert all(row["fid"] is None and row["lpips"] > 0 and 0 < row["auc"] < 1 for row in rows.values())
    assert set(predicted["stored"]) == {"setA", "setB", "legacy"} and not predicted["dropped"]
    members = read_tars([out / name for name in predicted["tars"]])
    assert len(members) == 2 * 2 * 3 + 2 * 2
    # The stored ab rebuild the protocol's images up to rounding ab to integers.
    files = predicted["stored"]["setA"]["resnet-unet"]
    truth = torch.stack([protocol_image(bench[0] / f, 64) for f in files])
    from chromagen.color import rgb_to_lab

    rebuilt = compose(rgb_to_lab(truth)[:, :1], stored_ab(members, "setA", "resnet-unet", range(len(files))))
    assert psnr(rebuilt, truth).mean().item() == pytest.approx(predicted["sets"]["setA"]["models"]["resnet-unet"]
                                                               ["psnr"], abs=0.05)

    # setA as if it had the protocol's 50 photos for FID and 10 for KID; setB's 3 photos have neither
    predicted["sets"]["setA"]["protocol"].update(fid_min_images=3, kid_min_images=3)
    (out / "predict.json").write_text(json.dumps(predicted))
    merged = tmp_path / "merged" / "results.json"  # the fetched folder may be read-only
    assert family_cli.main(["score", "--out", str(out), "--bench-root", str(data / "bench"), "--results",
                            str(merged)]) == 0
    results = json.loads(merged.read_text())
    rows = results["predict"]["sets"]["setA"]["models"]
    assert rows["resnet-unet"]["fid"] > 0 and np.isfinite(rows["resnet-unet-gan"]["kid"])
    assert rows["resnet-unet@start"]["fid"] is None  # starts are not stored by default
    assert all(row["fid"] is None and row["kid"] is None for row in results["predict"]["sets"]["setB"]["models"]
               .values())
    assert results["train"] == train

    doc = tmp_path / "docs" / "family.md"
    assert family_cli.main(["report", "--results", str(merged), "--bench-root", str(data / "bench"),
                            "--legacy", str(legacy), "--doc", str(doc), "--figures", str(doc.parent / "family")]) == 0
    text = doc.read_text()
    assert "## setA" in text and "## setB" in text and "## Findings" in text
    assert "| resnet-unet-gan@start |" in text and "python benchmarks/family.py report" in text
    assert "n/a (< 50 photos)" in text and "n/a (< 10 photos)" in text and "n/a (start: no ab)" in text
    assert "## Every family better than its untrained start on val?" in text and "| resnet-unet | " in text
    assert "| GAN stage after L1 | resnet-unet-gan vs resnet-unet | setA |" in text  # the pair both ran
    for figure in ("accuracy.png", "loss.png", "val-psnr.png", "grid-bench.jpg", "grid-legacy.jpg"):
        with Image.open(doc.parent / "family" / figure) as image:
            assert min(image.size) > 100
    with tarfile.open(out / predicted["tars"][0]) as tar:
        assert all(m.size < 14e6 for m in tar.getmembers())


def _fake_run(folder: Path, done: list[str], skipped: list[str] = (), steps: int = 10) -> Path:
    """A run as it comes back from the GPU, without training: train.json, predict.json, ab tars (tiny)."""
    folder.mkdir(parents=True)
    records = {name: {"status": "done", "wall_s": 1.0, "steps": steps, "weights": f"{name}.safetensors"}
               for name in done}
    records.update({name: {"status": "skipped", "error": "deadline"} for name in skipped})
    train = {"date": "2026-11-27T00:00:00+00:00", "budget": asdict(Budget(data=["train"], steps=steps)),
             "deadline_s": 60.0, "parallel": 1, "cuda": "GPU", "on_device": True, "families": records}
    tars = AbTars(folder, part_bytes=3000, total_bytes=10**6)  # one (set, row) a tar
    sets = {}
    for set_name in ("val", "setA"):
        models = {row: {"n": 2, "psnr": 20.0, "fid": None} for name in done for row in (name, name + START)}
        sets[set_name] = {"protocol": {"size": 64, "date": "2026-11-27"}, "models": models,
                          "curves": {row: {"auc": 0.5} for row in models}}
        for name in done if set_name == "setA" else []:
            tars.add(set_name, name, ["a.jpg", "b.jpg"], torch.full((2, 2, 4, 4), 3.0))
        tars.flush()
    tars.close()
    predict = {"date": "2026-11-27T01:00:00+00:00", "device": "cuda", "lpips": False, "sets": sets,
               "roots": {"val": "/data/val", "setA": "/data/setA"}, "stored": tars.stored, "dropped": ["setA/x"],
               "tars": [path.name for path in tars.parts], "command": f"predict {folder.name}"}
    (folder / "train.json").write_text(json.dumps(train))
    (folder / "predict.json").write_text(json.dumps(predict))
    return folder


def test_merge_joins_partial_runs_and_renumbers_their_tars(tmp_path: Path) -> None:
    first = _fake_run(tmp_path / "a", ["cnn", "pix2pix"], skipped=["fusion"])
    second = _fake_run(tmp_path / "b", ["fusion"])
    elsewhere = tmp_path / "b-tars"  # tars fetched apart from the JSON, as the GPU returns them
    elsewhere.mkdir()
    (second / "ab-00.tar").rename(elsewhere / "ab-00.tar")
    out = tmp_path / "merged"
    assert family_cli.main(["merge", "--run", str(first), "--run", str(second), str(elsewhere / "ab-00.tar"),
                            "--out", str(out)]) == 0
    train = json.loads((out / "train.json").read_text())
    predicted = json.loads((out / "predict.json").read_text())
    assert list(train["families"]) == ["cnn", "pix2pix", "fusion"]  # FAMILIES order
    assert train["families"]["fusion"]["status"] == "done" and train["families"]["fusion"]["run"] == 1
    assert [run["folder"] for run in train["runs"]] == [str(first), str(second)]
    assert predicted["tars"] == ["ab-00.tar", "ab-01.tar", "ab-02.tar"] == sorted(p.name for p in out.glob("*.tar"))
    assert predicted["runs"][1]["tars"] == {"ab-00.tar": "ab-02.tar"}
    assert predicted["stored"] == {"setA": {name: ["a.jpg", "b.jpg"] for name in ("cnn", "pix2pix", "fusion")}}
    assert predicted["dropped"] == ["setA/x", "setA/x"]
    assert list(predicted["sets"]["val"]["models"]) == ["cnn", "cnn@start", "pix2pix", "pix2pix@start", "fusion",
                                                        "fusion@start"]
    with pytest.raises(ChromagenError, match="is a merge already"):
        merge_runs([_run(out), _run(first)], tmp_path / "again", "merge")
    members = read_tars([out / name for name in predicted["tars"]])
    assert len(members) == 6 and torch.equal(stored_ab(members, "setA", "fusion", [1]),
                                              torch.full((1, 2, 4, 4), 3.0))


def test_merge_refuses_runs_that_are_not_one_benchmark(tmp_path: Path) -> None:
    first = _fake_run(tmp_path / "a", ["cnn"])
    runs = {"steps": _fake_run(tmp_path / "b", ["fusion"], steps=20), "twice": _fake_run(tmp_path / "c", ["cnn"])}
    for case, errors in (("steps", "budgets differ in steps"), ("twice", "cnn is done in both")):
        with pytest.raises(ChromagenError, match=errors):
            merge_runs([_run(first), _run(runs[case])], tmp_path / "out", "merge")
    assert not (tmp_path / "out").exists()
    other = _fake_run(tmp_path / "d", ["fusion"])
    swapped = _run(other)
    swapped.tars = [first / "ab-00.tar"]  # the other run's ab-00.tar: same name, other rows
    with pytest.raises(ChromagenError, match="do not hold what its predict.json stored"):
        merge_runs([_run(first), swapped], tmp_path / "out", "merge")
    assert family_cli.main(["merge", "--run", str(first), "--run", str(runs["steps"]), "--out",
                            str(tmp_path / "out")]) == 2


def _run(folder: Path) -> Run:
    predicted = json.loads((folder / "predict.json").read_text())
    return Run(folder, json.loads((folder / "train.json").read_text()), predicted,
               [folder / name for name in predicted["tars"]])


def test_the_report_says_why_a_number_is_missing_and_keeps_the_findings(tmp_path: Path) -> None:
    stored = {"big": {"cnn": ["a.jpg"] * 60, "fusion": ["a.jpg"] * 60}, "small": {"cnn": ["b.jpg"] * 5,
              "fusion": ["b.jpg"] * 5}, "part": {"cnn": ["c.jpg"]}, "legacy": {"cnn": ["old.jpg"]}}
    protocol = {"fid_min_images": 50, "kid_min_images": 10}
    predicted = {"stored": stored, "dropped": ["part/fusion"],
                 "sets": {name: {"protocol": protocol, "models": {"cnn": {"n": len(rows["cnn"])}}}
                          for name, rows in stored.items()}}
    assert missing_reason(predicted, "part", "fusion", "fid") == "over cap"
    assert missing_reason(predicted, "val", "cnn", "lpips") == "no ab kept"
    assert missing_reason(predicted, "big", "cnn@start", "kid") == "start: no ab"
    assert missing_reason(predicted, "small", "cnn", "fid") == "< 50 photos"
    assert missing_reason(predicted, "small", "cnn", "kid") == "< 10 photos"
    assert grid_layout(stored) == (["cnn", "fusion"], ["big", "small"])  # "part" lacks fusion: no grid row
    assert "left out: part (ab stored for cnn only)" in grid_caption(stored)

    assert complexity("cnn", json.dumps({"pretrained": True}))[0] > 0  # a recipe's pretrained flag is overridden

    doc = tmp_path / "family.md"
    assert kept_findings(doc) == FINDINGS_PLACEHOLDER
    doc.write_text("# generated\n\n| table |\n\n## Findings\n\nWritten by hand.\n\n### More\n")
    assert kept_findings(doc) == "## Findings\n\nWritten by hand.\n\n### More\n"


def test_the_gan_stage_recipe_is_the_stabilized_one() -> None:
    """The benchmark found the plain-PatchGAN stage losing 3.3 dB on val; the recipe now uses vivid-gan's settings."""
    recipe = load_recipe("resnet-unet-gan")
    assert recipe.gan is not None and recipe.gan.kwargs.get("spectral_norm") is True
    assert recipe.optim.lr <= 1e-4 and recipe.optim.encoder_lr_mult <= 0.1 and recipe.gan.weight_rec >= 100


def test_each_twin_is_its_family_without_one_part() -> None:
    """A controlled pair shares model, loss, data and schedule; only the named part differs."""
    from chromagen.models import create_model

    def rest(name: str, *also: str) -> dict:
        """The recipe without its model kwargs (and ``also``): what a twin must share with its family."""
        values = load_recipe(name).to_dict()
        return {**values, "model": values["model"]["name"], **dict.fromkeys(also)}

    assert rest("default", "optim") == rest("default-scratch", "optim")  # a random encoder learns at full rate
    assert {**load_recipe("default").model.kwargs, "pretrained": False} == load_recipe("default-scratch").model.kwargs
    for family, twin, part in (("attention-unet", "attention-unet-ungated", "gates"),
                               ("fusion", "fusion-local", "global_branch")):
        assert rest(family) == rest(twin) and load_recipe(twin).model.kwargs[part] is False
        gated, plain = (create_model(load_recipe(n).model.name, **{**load_recipe(n).model.kwargs, "pretrained": False})
                        for n in (family, twin))
        missing = set(gated.state_dict()) - set(plain.state_dict())
        assert missing and set(plain.state_dict()) < set(gated.state_dict()), family
        assert all(key.startswith(("gates.", "encoder.")) for key in missing), missing
        assert plain(torch.zeros(1, 1, 40, 56)).shape == (1, 2, 40, 56)
    assert {family for family, _, _ in PAIRS} | {twin for _, twin, _ in PAIRS} <= set(FAMILIES)


def test_the_pair_table_compares_each_family_with_its_twin_where_both_were_scored() -> None:
    row = {"psnr": 24.5, "lpips": 0.18, "fid": 80.0, "kid": 0.01, "colorfulness": 20.0}
    sets = {"val": {"models": {"fusion": row, "fusion-local": {**row, "psnr": 24.0, "fid": None},
                               "default": row}}}
    table = pair_table(sets)
    assert "| global classifier features | fusion vs fusion-local | val | 24.50 vs 24.00 (+0.50) |" in table
    assert "| n/a |" in table  # FID missing for the twin
    assert "default-scratch" not in table  # its twin was not scored
    assert pair_table({"val": {"models": {"default": row}}}) == ""


def test_merge_takes_only_the_named_families_of_a_run(tmp_path: Path) -> None:
    """FOLDER:NAME,... lets an older run fill the families a newer one lacks without clashing with the rest."""
    newer = _fake_run(tmp_path / "new", ["cnn", "pix2pix"], skipped=["fusion"])
    older = _fake_run(tmp_path / "old", ["cnn", "fusion"])
    out = tmp_path / "out"
    assert family_cli.main(["merge", "--run", str(newer), "--run", f"{older}:fusion", "--out", str(out)]) == 0
    train = json.loads((out / "train.json").read_text())
    predicted = json.loads((out / "predict.json").read_text())
    assert {name: record["run"] for name, record in train["families"].items()} == {"cnn": 0, "pix2pix": 0,
                                                                                   "fusion": 1}
    assert set(predicted["sets"]["setA"]["models"]) == {"cnn", "cnn@start", "pix2pix", "pix2pix@start", "fusion",
                                                         "fusion@start"}
    assert set(predicted["stored"]["setA"]) == {"cnn", "pix2pix", "fusion"}
    assert predicted["dropped"] == ["setA/x"]  # the newer run's; the older one's "x" is not taken from it
    members = [name for tar in predicted["tars"] for name in tarfile.open(out / tar).getnames()]
    assert sorted(members) == sorted(f"setA/{row}/{i:04d}.png" for row in ("cnn", "pix2pix", "fusion")
                                     for i in range(2))  # the older run's cnn left out: no member twice
    # a family the run does not hold (a typo) is one clear error, not an empty contribution
    assert family_cli.main(["merge", "--run", str(newer), "--run", f"{older}:fusoin", "--out",
                            str(tmp_path / "typo")]) == 2
    assert not (tmp_path / "typo").exists()
