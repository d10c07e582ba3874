import dataclasses
import json
import threading

import pandas as pd
import pytest

from builders import write_sourced_artworks
from artcnn.crossval import HELD_OUT, LEFT_OUT


@pytest.fixture(scope="module")
def demo_dataset(tmp_path_factory):
    """A tiny demo collection tiled into 32-px tiles: han from one source (ink), kom from alpha and beta."""
    from artcnn.config import TilingConfig
    from artcnn.dataset_build import build_dataset

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
    result = cross_validate(dataset, TrainConfig(epochs=1, batch_size=8, input_size=32), progress=events.append)

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
    # default blends each fold's head, fitted on that fold's training artworks, into its verdicts.
    assert [fold["statistics_head"] for fold in result["folds"]] == [True, True]
    assert {event.message.split(" · ")[0] for event in events if event.payload} == {
        "fold 1/2 (left out: alpha)", "fold 2/2 (left out: beta)"}
    json.dumps(result)


def test_cli_crossval_tiles_a_collection_and_mixes_in_the_prior_and_the_drawings(demo_dataset, tmp_path, capsys):
    from artcnn.cli import main

    root, _ = demo_dataset
    out = tmp_path / "crossval.json"
    assert main(["crossval", str(root / "art"), "--epochs", "1", "--batch-size", "8", "--tile-size", "32",
                 "--tiles-per-artwork", "2", "--prior-ratio", "0.5", "--drawn-ratio", "0.5", "--input-size", "32",
                 "--mixed-precision",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "alpha" in printed and "left out" in printed and "held-out part" in printed
    result = json.loads(out.read_text())
    # Counted on the fold's training side (4 of the 8 artworks of each class: a final model on 8 would get twice as
    # many): half a synthetic tile per real kom tile (4 artworks × 3 tiles: 2 and the whole view), half a drawing
    # per han artwork, each cut into 3 tiles too.
    assert [fold["train_artworks"] for fold in result["folds"]] == [8, 8]
    assert {fold["synthetic_drawings"] for fold in result["folds"]} == {2}
    assert {fold["extra_train_tiles"] for fold in result["folds"]} == {6 + 2 * 3}
    assert result["train"]["prior_ratio"] == 0.5 and result["train"]["drawn_ratio"] == 0.5
    assert result["train"]["mixed_precision"] is True


def test_the_stage_groups_folds_and_refuses_a_prior_for_a_missing_class(demo_dataset, tmp_path):
    from artcnn.config import CrossvalConfig, TilingConfig, TrainConfig
    from artcnn.crossval import run_crossval
    from artcnn.fitting import TrainingStopped

    root, dataset = demo_dataset
    train = TrainConfig(epochs=1, batch_size=8, input_size=32)
    with pytest.raises(ValueError, match="prior adds tiles to class oil, but dataset .* has no such class"):
        run_crossval(dataset, CrossvalConfig(train=dataclasses.replace(train, prior_ratio=1.0, prior_class="oil")))
    stop = threading.Event()
    stop.set()
    with pytest.raises(TrainingStopped):
        run_crossval(dataset, CrossvalConfig(train=train), stop=stop)
    sources = tmp_path / "sources.csv"
    sources.write_text("file,source\n" + "".join(f"{name},{'ink' if 'han' in name else 'pooled'}\n"
                                                 for name in map(str, (root / "art").rglob("*.png"))))
    with pytest.raises(ValueError, match="needs a class with at least two sources"):
        run_crossval(root / "art", CrossvalConfig(train=train, tiling=TilingConfig(tile_size=32, tiles_per_artwork=2),
                                                  sources_csv=str(sources)), work=tmp_path / "tiles")
    assert (tmp_path / "tiles" / "dataset.json").is_file()  # tiled into `work`, kept for next time
