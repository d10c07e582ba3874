"""The benchmarks' working parts on a handful of tiny images: that each computes what it says.
Nothing here measures or asserts speed."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("scipy")  # ImageDataGenerator's rotation, used by the study's pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builders import TILE, write_sourced_artworks, write_dataset  # noqa: E402

from artcnn import models  # noqa: E402
from bench import (classify_memory, classify_speed, common, reproduce_study, small_collection, train_speed,  # noqa: E402
                   unseen_artists)


@pytest.fixture(autouse=True)
def small_models(monkeypatch):
    # Tiny inputs keep the study's model (41 M weights at 200 px) small; the study's pipeline resizes to match.
    for name in ("seed", "default", "robust"):
        entry = models._REGISTRY[name]  # noqa: SLF001 - bench scripts build their own TrainConfig
        monkeypatch.setitem(models._REGISTRY, name, dataclasses.replace(  # noqa: SLF001
            entry, defaults=dataclasses.replace(entry.defaults, input_size=TILE)))
    monkeypatch.setattr(train_speed, "STUDY_SIZE", (TILE, TILE))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("dataset"), classes=("han", "kom"), artworks=3, tiles=2)


def test_flops_of_the_study_model_at_200_px(monkeypatch):
    entry = models._REGISTRY["seed"]  # noqa: SLF001
    monkeypatch.setitem(models._REGISTRY, "seed", dataclasses.replace(  # noqa: SLF001
        entry, defaults=dataclasses.replace(entry.defaults, input_size=200)))
    conv = 2 * 200 * 200 * 32 * 3 * 3 * 3
    dense = 2 * (100 * 100 * 32) * 128 + 2 * 128 * 1
    assert train_speed.training_flops_per_image(train_speed.seed_model()) == 3 * (conv + dense)


def test_every_training_variant_trains_the_same_tiles(dataset):
    result = train_speed.benchmark(dataset, epochs=1, repeats=1, log=lambda line: None)
    fits = {name: runs[0] for name, runs in result["fits"].items()}
    assert set(fits) == set(train_speed.VARIANTS)
    # 4 train tiles per class; the ceiling feeds whole batches of 64 instead.
    assert [fits[name].images for name in ("study", "artcnn", "artcnn_bf16")] == [8, 8, 8]
    assert fits["model_alone"].images == train_speed.STUDY_BATCH and fits["model_alone"].val_accuracy is None
    for name in ("study", "artcnn", "artcnn_bf16"):
        assert fits[name].seconds > 0 and fits[name].cpu_seconds > 0 and 0.0 <= fits[name].val_accuracy <= 1.0
    assert result["speedup"] == pytest.approx(
        result["summary"]["artcnn"]["images_per_second"] / result["summary"]["study"]["images_per_second"])
    with pytest.raises(ValueError, match="must include study and artcnn"):
        train_speed.benchmark(dataset, 1, 1, variants=("artcnn",))


def test_both_classification_paths_score_the_same_files_alike(dataset, tmp_path):
    from artcnn.storage import load_model

    model, metadata = load_model(common.benchmark_model("seed", tmp_path / "seed.keras", tile_size=TILE))
    files = sorted(Path(dataset).glob("*/*/*.png"))[:4]
    result = classify_speed.compare(model, metadata, files, repeats=1, log=lambda line: None)
    assert set(result["files_per_second"]) == {"study", "artcnn"}
    # The same model on the same pixels; only the resize filter differs (none is needed at TILE px).
    assert result["max_probability_difference"] < 1e-3 and result["same_label"] == 1.0

    costs = classify_speed.stages(model, metadata, files, batch_size=2)
    assert list(costs) == ["read and decode", "sha256", "perceptual hash", "tiling", "resize", "model"]
    assert all(value >= 0 for value in costs.values()) and costs["model"] > 0

    ceiling = classify_speed.model_alone(model, count=3, batch_size=2, repeats=1)
    assert ceiling["files_per_second"] > 0 and ceiling["files_per_cpu_second"] > 0

    artworks = classify_speed.large_artworks(tmp_path, count=2, width=96, height=64)
    assert [Path(file).name for file in artworks] == ["han_000.jpg", "kom_001.jpg"]
    whole = classify_speed.whole_artworks(model, metadata, artworks, repeats=1, log=lambda line: None)
    # A 96×64 artwork is a grid of 3 × 2 tiles of 32 px; prediction skips the near-blank ones.
    assert whole["artworks_per_second"] > 0 and all(1 <= tiles <= 6 for tiles in whole["tiles_per_artwork"])


def test_memory_benchmark_counts_every_file_broken_ones_included(tmp_path, monkeypatch):
    monkeypatch.setattr(classify_memory, "BROKEN_EVERY", 4)
    monkeypatch.setattr(classify_memory, "LARGE_EVERY", 6)
    monkeypatch.setattr(classify_memory, "LARGE_SIDE", 700)
    files = classify_memory.make_collection(tmp_path / "art", 8)
    assert len(files) == 8 and all(file.is_file() for file in files)
    assert {file.suffix for file in files} == {".jpg", ".png", ".webp"}
    model = common.benchmark_model("default", tmp_path / "default.keras")
    result = classify_memory.classify_in_subprocess(model, tmp_path / "art", tmp_path / "out.csv")
    assert classify_memory.count_rows(tmp_path / "out.csv") == (8, 2)  # files 3 and 7 are truncated
    assert 0 < result["peak_rss_mb"] < classify_memory.LIMIT_MB
    assert result["samples"] and max(rss for _, rss in result["samples"]) <= result["peak_rss_mb"] + 1
    assert classify_memory.rss_by_quarter([(0.0, 5.0), (1.0, 7.0), (3.5, 6.0)], 4.0) == pytest.approx(
        [5.0, 7.0, float("nan"), 6.0], nan_ok=True)


def test_study_table_has_the_four_configurations_default_and_bf16(tmp_path):
    from artcnn import demo

    demo.make_demo_collection(tmp_path / "art", per_class=3, size=(64, 96))
    logged = []
    rows, report = reproduce_study.run_study(tmp_path / "art", tmp_path / "out", epochs=1, default_epochs=1,
                                             bf16=True, log=logged.append, tile_size=TILE)
    assert [row.name for row in rows] == ["plain", "dropout", "dropout+rotation", "dropout+rotation+batch64",
                                          "default", "seed bf16"]
    assert [row.published for row in rows] == [76.25, 81.67, 82.25, 90.42, None, None]
    assert reproduce_study.seed_and_default(rows) == (rows[3], rows[4])
    assert rows[5].recipe["batch_size"] == 64 and rows[3].recipe == rows[5].recipe
    assert all(row.epochs == 1 and row.cpu_seconds > 0 and row.metrics["n_artworks"] == 2 for row in rows)
    table = reproduce_study.render_table(rows, report, "test machine", "python bench/reproduce_study.py")
    for row in rows:
        low, high = row.metrics["artwork_accuracy"]["low"], row.metrics["artwork_accuracy"]["high"]
        assert f"[{100 * low:.1f}, {100 * high:.1f}]" in table
    assert "| 90.42 |" in table

    # A second run trains nothing: every run is finished with the same settings.
    logged.clear()
    again, _ = reproduce_study.run_study(tmp_path / "art", tmp_path / "out", epochs=1, default_epochs=1,
                                         bf16=True, log=logged.append, tile_size=TILE)
    assert not [line for line in logged if "training" in line]
    assert [row.metrics for row in again] == [row.metrics for row in rows]
    assert np.isfinite([row.training_seconds for row in again]).all()


def test_unseen_artists_holds_out_whole_sources_scores_thumbnails_and_reuses_folds(tmp_path, monkeypatch):
    write_sourced_artworks(tmp_path / "art", per_class=4)
    for name, variant in unseen_artists.VARIANTS.items():
        quick = dataclasses.replace(variant.train, epochs=1, batch_size=8)
        monkeypatch.setitem(unseen_artists.VARIANTS, name, dataclasses.replace(variant, train=quick))
    logged = []
    run = dict(folds=2, tiles=2, epochs=1, small=TILE + 8, groups=None, log=logged.append, tile_size=TILE)
    rows, classes = unseen_artists.run_variant("scaled + degrade + prior", unseen_artists.VARIANTS[
        "scaled + degrade + prior"], tmp_path / "art", tmp_path / "out", **{**run, "small": 2 * TILE})
    artworks = rows["scaled + degrade + prior"]
    assert models.resolve_recipe(unseen_artists.VARIANTS["scaled + degrade + prior"].train).degrade
    # Every artwork scored once per kind by the fold that held its source out.
    assert sorted(artworks.groupby("kind").size().tolist()) == [8, 8]
    folds = artworks.groupby("source")["fold"].nunique()
    assert (folds == 1).all()
    table = unseen_artists.per_source(artworks, classes)
    assert set(table) == set(unseen_artists.KINDS) and set(table["thumbnails"]) == {"alpha", "beta", "ink"}
    mean, worst = unseen_artists.summary(table["as files are"])
    assert worst <= mean <= 1.0
    markdown = unseen_artists.render_table({"v": table}, "settings", "python bench/unseen_artists.py", "test machine")
    ink = table["as files are"]["ink"]
    assert f"[{100 * ink['low']:.1f}, {100 * ink['high']:.1f}] ({ink['correct']}/4)" in markdown

    logged.clear()
    again, _ = unseen_artists.run_variant("scaled + degrade + prior", unseen_artists.VARIANTS[
        "scaled + degrade + prior"], tmp_path / "art", tmp_path / "out", **{**run, "small": 2 * TILE})
    assert not [line for line in logged if "epoch" in line]
    pd.testing.assert_frame_equal(again["scaled + degrade + prior"], artworks)
    # Folds saved with other synthetic tiles, the same settings otherwise (a generator changed since), are trained
    # again: here every prior technique draws as the first one does.
    from artcnn import synthetic

    first = next(iter(synthetic.PRIOR_TECHNIQUES.values()))
    monkeypatch.setattr(synthetic, "PRIOR_TECHNIQUES", {name: first for name in synthetic.PRIOR_TECHNIQUES})
    unseen_artists.run_variant("scaled + degrade + prior", unseen_artists.VARIANTS["scaled + degrade + prior"],
                               tmp_path / "art", tmp_path / "out", **{**run, "small": 2 * TILE})
    assert [line for line in logged if "fold 1/2 epoch" in line] and [line for line in logged if "fold 2/2 epoch" in line]

    # default blends in the artworks' global statistics: its row, and the same models' tiles alone.
    blended, _ = unseen_artists.run_variant("default", unseen_artists.VARIANTS["default"], tmp_path / "art",
                                            tmp_path / "out", **run)
    assert list(blended) == ["default", "default, tiles alone"]
    verdict, tiles_alone = blended["default"], blended["default, tiles alone"]
    assert verdict[["artwork", "kind", "fold"]].equals(tiles_alone[["artwork", "kind", "fold"]])
    assert not np.allclose(verdict["p_kom"], tiles_alone["p_kom"])
    np.testing.assert_allclose(verdict[["p_han", "p_kom"]].sum(axis=1), 1.0)
    # Scored on the tiles classify cuts: each 72-px artwork's grid of 32-px tiles and its whole view, which weighs
    # as in training (one of three: two random tiles and it), and in one more row as one tile among the grid's.
    classified, _ = unseen_artists.run_variant("default", unseen_artists.VARIANTS["default"], tmp_path / "art",
                                               tmp_path / "out", **run, scoring="classify")
    assert list(classified) == ["default", "default, tiles alone", "default, whole view as one tile"]
    files = classified["default, tiles alone"].query("kind == 'as files are'").set_index("artwork")
    tiles = pd.concat([pd.read_csv(tmp_path / "out" / "default_classify" / f"fold{index}.csv") for index in (0, 1)])
    first = tiles[(tiles["kind"] == "as files are") & (tiles["artwork"] == files.index[0])]
    grid = len(first) - 1
    assert len(files) == 8 and files["tiles"].iloc[0] == grid + 1 > 3
    assert first["whole"].tolist() == [False] * grid + [True]
    expected = 2 / 3 * first["p_kom"].iloc[:grid].mean() + 1 / 3 * first["p_kom"].iloc[grid]
    assert files["p_kom"].iloc[0] == pytest.approx(expected)
    assert not np.allclose(classified["default"]["p_kom"], classified["default, whole view as one tile"]["p_kom"])
    for groups, problem in (([["ink", "nosuch"]], "Unknown: nosuch"), ([["ink"], ["alpha", "ink"]], "twice: ink")):
        with pytest.raises(ValueError, match=problem):
            unseen_artists.run_variant("default", unseen_artists.VARIANTS["default"], tmp_path / "art",
                                       tmp_path / "out", **{**run, "groups": groups})
    # Holding out some sources only, the table must go elsewhere than the full one's file.
    with pytest.raises(SystemExit):
        unseen_artists.main(["--data", str(tmp_path / "art"), "--out", str(tmp_path / "out"), "--groups", "ink"])


def test_model_on_real_art_scores_every_artwork_from_its_file_and_its_thumbnail(tmp_path, capsys):
    from bench import model_on_real_art

    write_sourced_artworks(tmp_path / "art", per_class=4)
    model = common.benchmark_model("default", tmp_path / "default.keras", tile_size=TILE)
    table, classes = model_on_real_art.score(model, tmp_path / "art", tmp_path / "out", small=TILE + 8)
    assert classes == ["han", "kom"]
    assert table.groupby(["kind", "source"]).size().to_dict() == {
        (kind, source): count for kind in unseen_artists.KINDS for source, count in (("alpha", 2), ("beta", 2),
                                                                                     ("ink", 4))}
    assert (table[["p_han", "p_kom"]].sum(axis=1) == 1).all()  # one verdict per artwork
    assert model_on_real_art.main([str(model), "--data", str(tmp_path / "art"), "--out", str(tmp_path / "out"),
                                   "--small", str(TILE + 8)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("model_mean_accuracy: ")


def test_small_collection_draws_the_same_artworks_for_a_seed_and_others_for_another(tmp_path):
    write_sourced_artworks(tmp_path / "art", per_class=6)

    def drawn(folder):
        return {name: sorted(link.name for link in (folder / name).iterdir()) for name in ("han", "kom")}

    first = drawn(small_collection.draw(tmp_path / "art", tmp_path / "a", 3, seed=0))
    assert [len(files) for files in first.values()] == [3, 3]
    assert drawn(small_collection.draw(tmp_path / "art", tmp_path / "b", 3, seed=0)) == first
    assert drawn(small_collection.draw(tmp_path / "art", tmp_path / "c", 3, seed=1)) != first
    assert all(link.resolve().parent.parent == (tmp_path / "art").resolve() for link in (tmp_path / "a").glob("*/*"))
    with pytest.raises(ValueError, match="fewer than 7"):
        small_collection.draw(tmp_path / "art", tmp_path / "d", 7, seed=0)
