import csv
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artcnn.config import TilingConfig
from artcnn.dataset import MANIFEST_COLUMNS, read_description
from artcnn.dataset_build import UnusableClassError, build_dataset, check_class_names, check_classes, class_folders

TILE = 16


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _collection(root: Path, counts: dict[str, int], size=(48, 40)) -> Path:
    seed = 0
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for index in range(count):
            seed += 1
            _noise(*size, seed=seed).save(root / name / f"art {index}.png")
    return root


def _manifest(dataset: Path) -> list[dict]:
    with open(dataset / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


# Details only: a whole view's tile has its own test.
CONFIG = TilingConfig(tile_size=TILE, tiles_per_artwork=3, test_fraction=0.4, seed=3, whole_view=False)


def test_build_dataset_writes_the_contract_layout(tmp_path):
    source = _collection(tmp_path / "art", {"kom": 4, "han": 5})
    calls = []
    report = build_dataset(source, tmp_path / "ds", CONFIG, progress=calls.append)
    dataset = tmp_path / "ds"
    assert report.path == dataset and report.classes == ["han", "kom"]
    assert [(event.what, event.done, event.total) for event in calls] == [("tiling", done, 9) for done in range(1, 10)]

    rows = _manifest(dataset)
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    assert len(rows) == 27
    for row in rows:
        assert (dataset / row["tile"]).is_file()
        assert row["tile"].startswith(f"{row['split']}/{row['class']}/")
        assert re.fullmatch(r"art_\d_[0-9a-f]{8}_x\d+_y\d+\.png", Path(row["tile"]).name)
        assert Path(row["tile"]).name.split("_")[2] == row["sha256"][:8]
        assert Image.open(dataset / row["tile"]).size == (TILE, TILE)
    for split in ("train", "test"):
        for name in ("han", "kom"):
            assert report.counts[split][name] == sum(r["split"] == split and r["class"] == name for r in rows)

    description = read_description(dataset)
    assert description == report
    assert description.classes == ["han", "kom"]
    assert description.counts == report.counts and description.artworks == report.artworks
    assert description.tiling == CONFIG and description.source == str(source)
    assert description.hash == hashlib.sha256((dataset / "manifest.csv").read_bytes()).hexdigest()
    assert description.synthetic is False and description.created
    assert sorted(path.name for path in tmp_path.iterdir()) == ["art", "ds"]


def test_no_artwork_has_tiles_on_both_sides_and_every_class_is_in_both(tmp_path):
    source = _collection(tmp_path / "art", {"han": 5, "kom": 3})
    report = build_dataset(source, tmp_path / "ds", CONFIG)
    rows = _manifest(tmp_path / "ds")
    sides = {}
    for row in rows:
        sides.setdefault(row["artwork"], set()).add(row["split"])
    assert all(len(split) == 1 for split in sides.values()) and len(sides) == 8
    assert report.artworks == {"train": {"han": 3, "kom": 2}, "test": {"han": 2, "kom": 1}}


def test_the_same_config_builds_the_same_dataset(tmp_path):
    source = _collection(tmp_path / "art", {"han": 3, "kom": 3})
    build_dataset(source, tmp_path / "one", CONFIG)
    build_dataset(source, tmp_path / "two", CONFIG)
    assert (tmp_path / "one" / "manifest.csv").read_bytes() == (tmp_path / "two" / "manifest.csv").read_bytes()


def test_classes_are_alphabetical_whatever_the_mapping_order(tmp_path):
    source = _collection(tmp_path / "art", {"zeta": 2, "alpha": 2, "Mid": 2})
    mapping = {name: sorted((source / name).iterdir()) for name in ("zeta", "alpha", "Mid")}
    report = build_dataset(mapping, tmp_path / "ds", CONFIG)
    assert report.classes == ["Mid", "alpha", "zeta"] == read_description(tmp_path / "ds").classes


def test_broken_files_are_skipped_with_reasons_while_the_rest_is_tiled(tmp_path):
    source = _collection(tmp_path / "art", {"han": 3, "kom": 3})
    (source / "han" / "broken.jpg").write_text("not a picture")
    (source / "kom" / "notes.txt").write_text("hello")
    Image.new("RGB", (40, 40), "white").save(source / "kom" / "blank.png")
    _noise(8, 12, seed=99).save(source / "han" / "small.png")
    (source / "kom" / "copy.png").write_bytes((source / "han" / "art 0.png").read_bytes())
    report = build_dataset(source, tmp_path / "ds", CONFIG)
    reasons = {Path(entry["file"]).name: entry["reason"] for entry in report.skipped}
    assert set(reasons) == {"broken.jpg", "notes.txt", "blank.png", "copy.png"}
    assert "not an image" in reasons["broken.jpg"] and "suffix" in reasons["notes.txt"]
    assert "blank" in reasons["blank.png"] and "same file" in reasons["copy.png"]
    assert report.upscaled == [str(source / "han" / "small.png")]
    assert sum(sum(per_class.values()) for per_class in report.artworks.values()) == 7
    assert read_description(tmp_path / "ds").skipped == report.skipped


@pytest.mark.parametrize("bad", ["../escape", "a/b", ".hidden", "", "x" * 70, "semi;colon"])
def test_invalid_class_names_are_rejected(tmp_path, bad):
    source = _collection(tmp_path / "art", {"han": 1})
    with pytest.raises(ValueError, match="class name"):
        build_dataset({bad: [source / "han" / "art 0.png"], "han": [source / "han" / "art 0.png"]},
                      tmp_path / "ds", CONFIG)
    assert not (tmp_path / "ds").exists()


def test_class_names_are_two_or_more_different_safe_names():
    check_class_names(["han", "kom"])
    for names in (["han"], ["han", "han"], []):
        with pytest.raises(ValueError, match=r"at least two classes \(one sub-folder per class in the uploads\), named "
                                             r"differently. Received: classes="):
            check_class_names(names, "the uploads")
    with pytest.raises(ValueError, match="class name"):
        check_class_names(["han", "../kom"])


def test_the_same_files_under_two_classes_are_one_short_error_listing_them(tmp_path):
    source = _collection(tmp_path / "art", {"han": 3})
    shutil.copytree(source / "han", source / "kom")
    with pytest.raises(UnusableClassError) as caught:
        build_dataset(source, tmp_path / "ds", CONFIG)
    message = str(caught.value)
    assert message.startswith("Class 'kom' has no usable artwork: all 3 of its files were skipped (first: art 0.png: "
                              "same file as art 0.png in class han; used once).")
    assert message.endswith("give each class its own artworks.") and str(tmp_path) not in message
    assert caught.value.classes == ["kom"] and len(caught.value.skipped) == 3


def test_a_dataset_needs_two_classes_with_artworks(tmp_path):
    source = _collection(tmp_path / "art", {"han": 2})
    with pytest.raises(ValueError, match="at least two classes"):
        build_dataset(source, tmp_path / "ds", CONFIG)
    (source / "kom").mkdir()
    (source / "kom" / "readme.txt").write_text("todo")
    with pytest.raises(ValueError, match="'kom' has no image files"):
        build_dataset(source, tmp_path / "ds", CONFIG)
    (source / "kom" / "broken.png").write_text("oops")
    with pytest.raises(ValueError, match="'kom' has no usable artwork.*broken.png"):
        build_dataset(source, tmp_path / "ds", CONFIG)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["art"]


def test_failure_leaves_no_half_built_dataset_and_keeps_the_old_one(tmp_path):
    source = _collection(tmp_path / "art", {"han": 3, "kom": 3})

    def crash(event):
        if event.done == 4:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        build_dataset(source, tmp_path / "ds", CONFIG, progress=crash)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["art"]

    build_dataset(source, tmp_path / "ds", CONFIG)
    before = (tmp_path / "ds" / "manifest.csv").read_bytes()
    with pytest.raises(RuntimeError, match="power cut"):
        build_dataset(source, tmp_path / "ds", CONFIG, progress=crash, overwrite=True)
    assert (tmp_path / "ds" / "manifest.csv").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["art", "ds"]


def test_existing_dataset_needs_overwrite(tmp_path):
    source = _collection(tmp_path / "art", {"han": 2, "kom": 2})
    build_dataset(source, tmp_path / "ds", CONFIG)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        build_dataset(source, tmp_path / "ds", CONFIG)
    config = TilingConfig(tile_size=TILE, tiles_per_artwork=1, whole_view=False)
    report = build_dataset(source, tmp_path / "ds", config, overwrite=True)
    assert sum(report.counts["train"].values()) + sum(report.counts["test"].values()) == 4
    assert len(_manifest(tmp_path / "ds")) == 4
    assert sorted(path.name for path in tmp_path.iterdir()) == ["art", "ds"]


def test_class_folders_lists_sorted_images_and_skips_hidden_folders(tmp_path):
    source = _collection(tmp_path / "art", {"kom": 2, "han": 1, ".cache": 1, "__MACOSX": 1})
    (source / "loose.png").write_bytes(b"")
    folders = class_folders(source)
    assert list(folders) == ["han", "kom"]
    assert folders["kom"] == [source / "kom" / "art 0.png", source / "kom" / "art 1.png"]
    with pytest.raises(ValueError, match="not a folder"):
        class_folders(tmp_path / "missing")
    with pytest.raises(ValueError, match="dataset.json is missing"):
        read_description(tmp_path)


def test_dataset_json_is_valid_json_with_the_contract_keys(tmp_path):
    source = _collection(tmp_path / "art", {"han": 2, "kom": 2})
    build_dataset(source, tmp_path / "ds", CONFIG)
    description = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    for key in ("classes", "tiling", "counts", "skipped", "blank_tiles_skipped", "upscaled", "created", "source", "hash"):
        assert key in description


def test_check_classes_refuses_what_build_dataset_would_before_reading_a_file(tmp_path):
    # The files need not exist: the Datasets page checks the uploaded class names before saving anything.
    check_classes({"han": [tmp_path / "a.png"], "kom": [tmp_path / "b.png"]})
    with pytest.raises(ValueError, match="class name"):
        check_classes({"../up": [tmp_path / "a.png"], "kom": [tmp_path / "b.png"]})
    with pytest.raises(ValueError, match="at least two classes.*in uploads"):
        check_classes({"han": [tmp_path / "a.png"]}, "uploads")
    with pytest.raises(ValueError, match="'kom' has no image files"):
        check_classes({"han": [tmp_path / "a.png"], "kom": []})


def test_each_artwork_gets_its_global_statistics(tmp_path):
    from artcnn.dataset import read_statistics
    from artcnn.image_statistics import FIRST_NAMES, NAMES, image_statistics, thumbnail_statistics

    source = _collection(tmp_path / "art", {"kom": 3, "han": 3})
    report = build_dataset(source, tmp_path / "ds", CONFIG)
    views = read_statistics(report)
    assert list(views) == ["file", "thumbnail"]
    artworks = sorted({row["artwork"] for row in _manifest(tmp_path / "ds")})
    for view, measure in (("file", image_statistics), ("thumbnail", thumbnail_statistics)):
        assert sorted(views[view].index) == artworks and list(views[view].columns) == list(NAMES)
        np.testing.assert_allclose(views[view].loc[artworks[0]].to_numpy(), measure(Image.open(artworks[0])))
    # Recorded before the later statistics: read as none, until the dataset is built again.
    table = pd.read_csv(tmp_path / "ds" / "statistics.csv")
    table[["artwork", "view", *FIRST_NAMES]].to_csv(tmp_path / "ds" / "statistics.csv", index=False)
    assert read_statistics(report) is None
    (tmp_path / "ds" / "statistics.csv").write_text("artwork,log_colours\nx.png,1.0\n")
    with pytest.raises(ValueError, match="lacks the column"):
        read_statistics(report)
    (tmp_path / "ds" / "statistics.csv").unlink()
    assert read_statistics(report) is None


def test_a_whole_view_dataset_names_each_artworks_whole_tile_apart(tmp_path):
    source = tmp_path / "art"
    for name, colour in (("han", (200, 30, 30)), ("kom", (30, 30, 200))):
        (source / name).mkdir(parents=True)
        for index in range(2):
            picture = np.full((60, 90, 3), 255, np.uint8)
            picture[10 + index * 5 : 50, 20:70] = colour
            Image.fromarray(picture).save(source / name / f"art {index}.png")
    config = TilingConfig(tile_size=TILE, tiles_per_artwork=2, test_fraction=0.0, blank_threshold=0.0,
                          whole_view=True)
    report = build_dataset(source, tmp_path / "ds", config)
    names = [Path(row["tile"]).name for row in _manifest(tmp_path / "ds")]
    assert len(names) == 12 and sum(name.endswith("_whole.png") for name in names) == 4
    assert read_description(tmp_path / "ds").tiling.whole_view and report.tiling == config


def test_the_manifest_finds_each_artwork_from_another_working_folder(tmp_path, monkeypatch):
    _collection(tmp_path / "art", {"han": 2, "kom": 2})
    monkeypatch.chdir(tmp_path)
    from_folder = build_dataset(Path("art"), Path("by_folder"), CONFIG)
    from_files = build_dataset({"han": [Path("art/han/art 0.png")], "kom": [Path("art/kom/art 0.png")]},
                               Path("by_files"), CONFIG)
    monkeypatch.chdir(tmp_path / "art")
    for dataset in (from_folder, from_files):
        artworks = {row["artwork"] for row in _manifest(tmp_path / dataset.path)}
        assert artworks and all(Path(artwork).is_absolute() and Path(artwork).is_file() for artwork in artworks)
        assert Path(dataset.source).is_absolute()
