import json

import pytest

from artcnn.config import TilingConfig
from artcnn.dataset import MANIFEST_COLUMNS, Dataset, is_dataset, read_description, read_manifest, write_description
from builders import TILE, write_dataset


def test_a_description_written_is_read_back_the_same(tmp_path):
    written = Dataset(path=tmp_path, classes=["han", "kom"], tiling=TilingConfig(tile_size=64), hash="a" * 64,
                      synthetic=True, counts={"train": {"han": 3, "kom": 2}}, skipped=[{"file": "x", "reason": "y"}],
                      created="2026-01-01T00:00:00+00:00", source="/art")
    write_description(written)
    assert read_description(tmp_path) == written
    assert set(json.loads((tmp_path / "dataset.json").read_text())) == set(written.to_json()) - {"path"}
    assert written.tiles == 5


def test_a_short_description_gets_defaults_and_sorted_classes(tmp_path):
    root = write_dataset(tmp_path, classes=("kom", "han"))
    description = read_description(root)
    assert description.classes == ["han", "kom"] and description.tiling == TilingConfig(tile_size=TILE)
    assert description.hash == "f" * 64 and description.synthetic is True
    assert description.counts == {} and description.skipped == [] and description.source == ""
    assert is_dataset(root) and not is_dataset(tmp_path / "train")


def test_a_dataset_described_before_whole_views_existed_has_none(tmp_path):
    root = write_dataset(tmp_path)
    description = json.loads((root / "dataset.json").read_text())
    del description["tiling"]["whole_view"]
    (root / "dataset.json").write_text(json.dumps(description))
    assert read_description(root).tiling == TilingConfig(tile_size=TILE, whole_view=False)


def test_bad_descriptions_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path} is not a dataset folder: dataset.json is missing"):
        read_description(tmp_path)
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(ValueError, match="dataset.json is not valid JSON"):
        read_description(tmp_path)
    (tmp_path / "dataset.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object. Received: list"):
        read_description(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"classes": ["han"]}))
    with pytest.raises(ValueError, match=r"at least two classes. Received: classes=\['han'\]"):
        read_description(tmp_path)


def test_read_manifest_checks_columns_classes_and_tiles(tmp_path):
    root = write_dataset(tmp_path)
    description = read_description(root)
    assert tuple(read_manifest(description).columns) == MANIFEST_COLUMNS
    manifest = (root / "manifest.csv").read_text()
    (root / "manifest.csv").write_text(manifest.replace(",sha256,", ",digest,", 1))
    with pytest.raises(ValueError, match="manifest.csv lacks the column.s. sha256"):
        read_manifest(description)
    (root / "manifest.csv").write_text(manifest.replace("kom", "cat"))
    with pytest.raises(ValueError, match="classes not in dataset.json: cat"):
        read_manifest(description)
    (root / "manifest.csv").unlink()
    with pytest.raises(ValueError, match="manifest.csv is missing"):
        read_manifest(description)
