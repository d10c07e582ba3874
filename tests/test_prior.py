"""The algorithmic-art prior on a tiny generated dataset (32-px tiles, a few artworks a class)."""

import numpy as np
import pytest
from PIL import Image

from builders import generated_dataset

from artcnn import data, fitting
from artcnn.config import TrainConfig
from artcnn.prior import exported_tiles, prior_count, prior_tiles


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """han: 3 artworks, kom: 5, two 32-px tiles each, so the classes have different tile counts."""
    return generated_dataset(tmp_path_factory.mktemp("prior"), han=3, kom=5)


def test_prior_tiles_are_cut_like_the_dataset_and_report_progress(dataset, tmp_path):
    events = []
    files = prior_tiles(dataset, tmp_path / "prior", 1.5, seed=2, progress=events.append)
    # 1.5 per real kom tile: 5 artworks × 2 tiles.
    assert list(files) == ["kom"] and len(files["kom"]) == 15 and len(set(files["kom"])) == 15
    assert all(Image.open(file).size == (32, 32) for file in files["kom"])
    assert {event.what for event in events} == {"prior"} and {event.total for event in events} == {15}
    assert events[0].done == 0 and events[-1].done == 15
    assert [event.done for event in events] == sorted(event.done for event in events)


def test_the_same_seed_gives_the_same_tiles(dataset, tmp_path):
    first = prior_tiles(dataset, tmp_path / "a", 0.3, seed=4)["kom"]
    again = prior_tiles(dataset, tmp_path / "b", 0.3, seed=4)["kom"]
    assert [Image.open(a).tobytes() for a in first] == [Image.open(b).tobytes() for b in again]


def test_the_count_comes_from_the_rows_a_fit_trains_on_and_fewer_get_the_first_tiles(dataset, tmp_path):
    info = data.read_dataset(dataset)
    kom = sorted(info.manifest.loc[info.manifest["class"] == "kom", "artwork"].unique())
    fold = info.manifest[info.manifest["artwork"] != kom[0]]
    # 1.5 per kom tile the fold trains on: 4 artworks × 2 tiles.
    assert prior_count(fold, 1.5, "kom") == 12
    whole = prior_tiles(dataset, tmp_path / "whole", 1.5, seed=2)["kom"]
    fewer = prior_tiles(dataset, tmp_path / "fold", 1.5, rows=fold, seed=2)["kom"]
    assert len(whole) == 15 and [Image.open(a).tobytes() for a in fewer] == [Image.open(b).tobytes() for b in whole[:12]]
    # Made once for the whole dataset, a fold's additions take the same first tiles.
    config = TrainConfig(prior_ratio=1.5, seed=2, drawn_ratio=0.0)
    additions = fitting.synthetic_additions(info, info.manifest, config, tmp_path / "additions", None)
    taken = additions.for_rows(fold)
    assert taken.prior_files == additions.prior_files[:12] and taken.labels.tolist() == [1] * 12
    with pytest.raises(ValueError, match="fewer than a fit on the rows given gets. Received: rows asking for 15"):
        taken.for_rows(info.manifest)


def test_an_export_goes_through_jpeg_unless_lossless(dataset, tmp_path):
    tiling = data.read_dataset(dataset).tiling
    # Two flat colours, as a paint program saves a doodle: JPEG blurs their edge into many greys, PNG does not.
    halves = np.full((48, 80, 3), 255, np.uint8)
    halves[:, 37:] = 30
    picture = Image.fromarray(halves)
    kept, kept_files = exported_tiles(picture, tiling, np.random.default_rng(0), tmp_path / "png", lossless=True)
    jpeg, _ = exported_tiles(picture, tiling, np.random.default_rng(0), tmp_path / "jpeg")
    assert np.array_equal(np.asarray(kept), halves) and not np.array_equal(np.asarray(jpeg), halves)
    assert all(set(np.unique(np.asarray(Image.open(file)))) <= {30, 255} for file in kept_files)


def test_any_class_of_the_dataset_can_receive_the_prior(dataset, tmp_path):
    files = prior_tiles(dataset, tmp_path / "prior", 0.5, target_class="han")
    # Half a tile per real han tile: 3 artworks × 2 tiles.
    assert list(files) == ["han"] and len(files["han"]) == 3


def test_a_missing_class_or_negative_ratio_is_refused_clearly(dataset, tmp_path):
    with pytest.raises(ValueError, match=r"no such class \(classes: han, kom\). Received: target_class='photo'"):
        prior_tiles(dataset, tmp_path / "prior", 0.5, target_class="photo")
    with pytest.raises(ValueError, match="ratio must be at least 0. Received: ratio=-1"):
        prior_tiles(dataset, tmp_path / "prior", -1)
    assert prior_tiles(dataset, tmp_path / "none", 0.0) == {"kom": []}
