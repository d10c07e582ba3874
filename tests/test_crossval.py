import json

import numpy as np
import pandas as pd
import pytest

from builders import write_sourced_artworks
from artcnn.crossval import HELD_OUT, LEFT_OUT, assign_sources, plan_folds, read_sources_csv


def table(sources: dict[str, list[str]], per_source: int = 4) -> pd.DataFrame:
    """class → sources, each with `per_source` artworks named <class>/<source>_<n>.png."""
    rows = [{"artwork": f"{name}/{source}_{n}.png", "class": name, "source": source}
            for name, names in sources.items() for source in names for n in range(per_source)]
    return pd.DataFrame(rows)


def test_each_source_of_a_multi_source_class_is_left_out_once():
    artworks = table({"han": ["ink"], "kom": ["alpha", "beta", "gamma"]}, per_source=6)
    folds = plan_folds(artworks, seed=1)

    assert [fold.left_out for fold in folds] == ["alpha", "beta", "gamma"]
    for fold in folds:
        tested = artworks[artworks["artwork"].isin(fold.test)]
        # The left-out source is tested whole, the other kom sources not at all.
        assert set(tested.loc[tested["class"] == "kom", "source"]) == {fold.left_out}
        assert (tested["source"] == fold.left_out).sum() == 6
        assert (tested["source"] == "ink").sum() == 2
    # The single-source class is split: every ink artwork is tested in exactly one fold.
    ink = artworks.loc[artworks["source"] == "ink", "artwork"]
    assert sorted(name for fold in folds for name in fold.test if name in set(ink)) == sorted(ink)


def test_plan_folds_is_seeded_and_independent_of_row_order():
    artworks = table({"han": ["ink"], "kom": ["alpha", "beta"]}, per_source=10)
    assert plan_folds(artworks, 3) == plan_folds(artworks.iloc[::-1], 3)
    assert plan_folds(artworks, 3) != plan_folds(artworks, 4)


def test_two_multi_source_classes_leave_out_each_source():
    folds = plan_folds(table({"han": ["ink", "oil"], "kom": ["alpha", "beta"]}))
    assert [fold.left_out for fold in folds] == ["ink", "oil", "alpha", "beta"]
    assert all(len(fold.test) == 4 for fold in folds)


def test_plan_folds_explains_what_it_cannot_do():
    with pytest.raises(ValueError, match="needs a class with at least two sources.*han: ink; kom: alpha"):
        plan_folds(table({"han": ["ink"], "kom": ["alpha"]}))
    mixed = table({"han": ["ink"], "kom": ["alpha", "beta"]})
    mixed.loc[0, "source"] = "alpha"
    with pytest.raises(ValueError, match="source.s. alpha have artworks in more than one class"):
        plan_folds(mixed)


def test_sources_come_from_a_csv_by_path_or_file_name(tmp_path):
    csv = tmp_path / "sources.csv"
    csv.write_text("File,Source\nart/kom/x_1.png,alice\ny_2.png,bob\n", encoding="utf-8")
    sources = read_sources_csv(csv)
    assigned = assign_sources(["art/kom/x_1.png", "elsewhere/y_2.png", "art/han/kandinsky_3.jpg"], sources)
    assert assigned == {"art/kom/x_1.png": "alice", "elsewhere/y_2.png": "bob", "art/han/kandinsky_3.jpg": "kandinsky"}

    (tmp_path / "bad.csv").write_text("name,artist\na.png,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs a column `file` .or `artwork`. and a column `source`"):
        read_sources_csv(tmp_path / "bad.csv")


@pytest.fixture(scope="module")
def demo_dataset(tmp_path_factory):
    """A tiny demo collection tiled into 32-px tiles: han from one source (ink), kom from alpha and beta."""
    from artcnn.config import TilingConfig
    from artcnn.tiling import build_dataset

    root = tmp_path_factory.mktemp("crossval")
    write_sourced_artworks(root / "art", per_class=8)
    dataset = root / "dataset"
    build_dataset(root / "art", dataset, TilingConfig(tile_size=32, tiles_per_artwork=2, test_fraction=0.0))
    return root, dataset


def test_cross_validate_scores_every_artwork_once_out_of_fold(demo_dataset):
    from artcnn.config import TrainConfig
    from artcnn.crossval import cross_validate

    _, dataset = demo_dataset
    events = []
    result = cross_validate(dataset, TrainConfig(epochs=1, batch_size=8), progress=events.append)

    assert {source: (row["class"], row["role"], row["total"]) for source, row in result["sources"].items()} == {
        "alpha": ("kom", LEFT_OUT, 4), "beta": ("kom", LEFT_OUT, 4), "ink": ("han", HELD_OUT, 8)}
    artworks = pd.DataFrame(result["artworks"])
    assert artworks["artwork"].is_unique and len(artworks) == 16
    assert set(artworks.loc[artworks["source"] == "alpha", "fold"]) == {"alpha"}
    for row in result["sources"].values():
        assert row["low"] <= row["value"] <= row["high"] and row["correct"] == round(row["value"] * row["total"])
    assert [fold["left_out"] for fold in result["folds"]] == ["alpha", "beta"]
    # Training never sees the left-out source: 8 ink/2 + 4 other kom artworks.
    assert [fold["train_artworks"] for fold in result["folds"]] == [8, 8]
    assert {event.message.split(" · ")[0] for event in events if event.payload} == {
        "fold 1/2 (left out: alpha)", "fold 2/2 (left out: beta)"}
    json.dumps(result)


def test_cli_crossval_tiles_a_collection_and_mixes_in_the_prior(demo_dataset, tmp_path, capsys):
    from artcnn.cli import main

    root, _ = demo_dataset
    out = tmp_path / "crossval.json"
    assert main(["crossval", str(root / "art"), "--epochs", "1", "--batch-size", "8", "--tile-size", "32",
                 "--tiles-per-artwork", "2", "--prior-ratio", "0.5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "alpha" in printed and "left out" in printed and "held-out part" in printed
    result = json.loads(out.read_text())
    # Half a synthetic tile per real kom tile (8 kom artworks × 2 tiles).
    assert {fold["extra_train_tiles"] for fold in result["folds"]} == {8}


def test_every_prior_technique_draws_reproducibly_at_any_size():
    from artcnn.synthetic import KOM_TECHNIQUES, PRIOR_TECHNIQUES

    assert set(KOM_TECHNIQUES) < set(PRIOR_TECHNIQUES)
    for name, technique in PRIOR_TECHNIQUES.items():
        for width, height in ((16, 16), (90, 40)):
            image = technique(np.random.default_rng(5), width, height)
            assert (image.size, image.mode) == ((width, height), "RGB"), name
        again = np.asarray(technique(np.random.default_rng(5), 90, 40))
        assert np.array_equal(np.asarray(image), again), name
