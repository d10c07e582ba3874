import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artcnn.config import TilingConfig
from artcnn.dataset import STATISTICS_FILE, read_description, read_statistics
from artcnn.dataset_build import build_dataset
from artcnn.image_statistics import FIRST_NAMES, NAMES
from artcnn.statistics_update import statistics_outdated, update_statistics

CONFIG = TilingConfig(tile_size=16, tiles_per_artwork=2, test_fraction=0.4, seed=1, whole_view=False)


@pytest.fixture
def dataset(tmp_path):
    """A small dataset cut from noise pictures of two classes, its artworks left where they were."""
    for number, name in enumerate(("han", "kom")):
        (tmp_path / "art" / name).mkdir(parents=True)
        for index in range(3):
            pixels = np.random.default_rng([number, index]).integers(0, 256, (40, 48, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "art" / name / f"work {index}.png")
    return build_dataset(tmp_path / "art", tmp_path / "dataset", CONFIG).path


def _as_built_before_the_later_statistics(folder):
    table = pd.read_csv(folder / STATISTICS_FILE)
    table.drop(columns=[name for name in NAMES if name not in FIRST_NAMES]).to_csv(folder / STATISTICS_FILE,
                                                                                    index=False)


def test_measures_an_outdated_dataset_again_as_it_was_built(dataset, tmp_path):
    built = read_statistics(read_description(dataset))
    _as_built_before_the_later_statistics(dataset)
    assert statistics_outdated(dataset)
    events = []

    assert update_statistics(dataset, progress=events.append) == 6
    assert not statistics_outdated(dataset)
    measured = read_statistics(read_description(dataset))
    for view, rows in built.items():
        pd.testing.assert_frame_equal(measured[view], rows)
    assert [event.done for event in events] == list(range(1, 7)) and {event.total for event in events} == {6}
    assert not list(dataset.glob("*.partial"))


def test_a_dataset_without_statistics_gets_them(dataset):
    (dataset / STATISTICS_FILE).unlink()
    assert statistics_outdated(dataset)
    update_statistics(dataset)
    assert set(read_statistics(read_description(dataset))) == {"file", "thumbnail"}


def test_moved_or_changed_artworks_are_named_and_nothing_is_written(dataset, tmp_path):
    _as_built_before_the_later_statistics(dataset)
    before = (dataset / STATISTICS_FILE).read_bytes()
    (tmp_path / "art" / "han" / "work 0.png").unlink()
    Image.new("RGB", (48, 40), "white").save(tmp_path / "art" / "kom" / "work 2.png")

    with pytest.raises(ValueError) as raised:
        update_statistics(dataset)
    message = str(raised.value)
    assert "2 of its 6 artworks" in message
    assert "han/work 0.png (no longer where the dataset found it)" in message
    assert "kom/work 2.png (changed since the dataset was built)" in message
    assert str(tmp_path) not in message  # the user's words, not the server's paths
    assert (dataset / STATISTICS_FILE).read_bytes() == before
    assert statistics_outdated(dataset)


def test_a_damaged_artwork_is_named_with_what_is_wrong(dataset, tmp_path):
    damaged = tmp_path / "art" / "han" / "work 1.png"
    damaged.write_bytes(damaged.read_bytes()[:200])
    manifest = pd.read_csv(dataset / "manifest.csv")
    # Damaged after a build that recorded these very bytes: only reading it can tell.
    manifest.loc[manifest["artwork"] == str(damaged), "sha256"] = hashlib.sha256(damaged.read_bytes()).hexdigest()
    manifest.to_csv(dataset / "manifest.csv", index=False)

    with pytest.raises(ValueError, match=r"han/work 1\.png \(cannot decode the picture in full"):
        update_statistics(dataset)


def test_an_artwork_recorded_relative_to_another_folder_says_where_to_run_from(dataset, tmp_path, monkeypatch):
    manifest = pd.read_csv(dataset / "manifest.csv")
    manifest["artwork"] = manifest["artwork"].str.replace(f"{tmp_path}/", "", regex=False)
    manifest.to_csv(dataset / "manifest.csv", index=False)
    monkeypatch.chdir(dataset)
    with pytest.raises(ValueError, match=r"han/work 0\.png \(recorded as art/han/work 0\.png, relative to the folder"):
        update_statistics(dataset)
    monkeypatch.chdir(tmp_path)
    assert update_statistics(dataset) == 6


def test_a_damaged_statistics_file_is_named_and_measuring_again_repairs_it(dataset):
    table = pd.read_csv(dataset / STATISTICS_FILE)
    table.drop(columns=["view"]).to_csv(dataset / STATISTICS_FILE, index=False)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) view\. Measure its statistics again"):
        statistics_outdated(dataset)
    assert update_statistics(dataset) == 6
    assert not statistics_outdated(dataset)
