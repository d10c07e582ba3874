import csv
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artcnn.config import TilingConfig
from artcnn.dataset import MANIFEST_COLUMNS, read_description
from artcnn.tiling import (UnusableClassError, build_dataset, check_class_names, check_classes, class_folders,
                           cut_tiles, split_artworks)

TILE = 16


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _coverage(tiles, width: int, height: int) -> np.ndarray:
    covered = np.zeros((height, width), bool)
    for tile in tiles:
        covered[tile.y : tile.y + tile.size, tile.x : tile.x + tile.size] = True
    return covered


def test_grid_covers_the_whole_artwork_with_edge_aligned_last_tiles():
    image = _noise(100, 70)
    cut = cut_tiles(image, TilingConfig(tile_size=32, grid=True, blank_threshold=0.0))
    assert _coverage(cut.tiles, 100, 70).all()
    assert sorted({tile.x for tile in cut.tiles}) == [0, 32, 64, 68]
    assert sorted({tile.y for tile in cut.tiles}) == [0, 32, 38]
    pixels = np.asarray(image)
    for tile in cut.tiles:
        assert tile.size == 32
        np.testing.assert_array_equal(tile.pixels, pixels[tile.y : tile.y + 32, tile.x : tile.x + 32])


def test_tiles_of_a_resized_artwork_are_mapped_back_to_its_coordinates():
    image = _noise(200, 100)
    cut = cut_tiles(image, TilingConfig(tile_size=32, long_side=100, grid=True, blank_threshold=0.0))
    assert all(tile.pixels.shape == (32, 32, 3) and tile.size == 64 for tile in cut.tiles)
    assert all(tile.x + tile.size <= 200 and tile.y + tile.size <= 100 for tile in cut.tiles)
    assert _coverage(cut.tiles, 200, 100).all()


def test_max_tiles_keeps_an_evenly_spread_subset_of_the_grid():
    config = TilingConfig(tile_size=8, grid=True, blank_threshold=0.0)
    image = _noise(160, 80)
    full = cut_tiles(image, config)
    subset = cut_tiles(image, config, max_tiles=12)
    assert len(full.tiles) == 200 and 1 < len(subset.tiles) <= 12
    xs, ys = {tile.x for tile in subset.tiles}, {tile.y for tile in subset.tiles}
    assert min(xs) == 0 and max(xs) == 152 and min(ys) == 0 and max(ys) == 72
    assert len(xs) > 1 and len(ys) > 1
    with pytest.raises(ValueError, match="max_tiles"):
        cut_tiles(image, config, max_tiles=0)


def test_random_positions_are_seeded_and_reproducible():
    image = _noise(300, 200)
    config = TilingConfig(tile_size=32, tiles_per_artwork=6)

    def positions(seed):
        return [(tile.x, tile.y) for tile in cut_tiles(image, config, np.random.default_rng(seed)).tiles]

    first = positions(7)
    assert first == positions(7)
    assert first != positions(8)
    assert len(first) == 6 and len(set(first)) == 6
    assert all(0 <= x <= 268 and 0 <= y <= 168 for x, y in first)
    with pytest.raises(ValueError, match="rng"):
        cut_tiles(image, config)


def test_blank_tiles_are_skipped_and_counted():
    pixels = np.asarray(_noise(128, 64)).copy()
    pixels[:, :64] = 250  # the left half is empty paper
    image = Image.fromarray(pixels)
    grid = cut_tiles(image, TilingConfig(tile_size=32, grid=True))
    assert grid.blank_skipped == 4 and len(grid.tiles) == 4
    assert all(tile.x >= 64 for tile in grid.tiles)
    random = cut_tiles(image, TilingConfig(tile_size=32, tiles_per_artwork=5), np.random.default_rng(0))
    assert len(random.tiles) == 5 and random.blank_skipped > 0
    assert all(tile.pixels.std() > 10 for tile in random.tiles)


def test_an_all_blank_artwork_gives_no_tiles_unless_blank_ones_are_kept():
    blank = Image.new("RGB", (96, 64), (240, 240, 235))
    config = TilingConfig(tile_size=32, tiles_per_artwork=3)
    assert cut_tiles(blank, config, np.random.default_rng(0)).tiles == []
    kept = cut_tiles(blank, config, np.random.default_rng(0), keep_blank=True)
    assert 1 <= len(kept.tiles) <= 3
    assert len(cut_tiles(blank, config, grid=True, keep_blank=True).tiles) == 6


def test_small_artwork_is_upscaled_and_recorded():
    cut = cut_tiles(_noise(10, 40), TilingConfig(tile_size=32, grid=True, blank_threshold=0.0))
    assert cut.upscaled
    assert all(tile.pixels.shape == (32, 32, 3) for tile in cut.tiles)
    assert all(tile.size == 10 and tile.x == 0 and tile.y + 10 <= 40 for tile in cut.tiles)
    assert not cut_tiles(_noise(40, 40), TilingConfig(tile_size=32, grid=True)).upscaled


def test_split_is_stratified_by_artwork_and_independent_of_order():
    artworks = {
        "han": [Path(f"han/{i}.png") for i in range(10)],
        "kom": [Path(f"kom/{i}.png") for i in range(3)],
        "pair": [Path("pair/a.png"), Path("pair/b.png")],
        "single": [Path("single/a.png")],
    }
    split = split_artworks(artworks, 0.3, seed=1)
    tests = {name: sum(split[file] == "test" for file in files) for name, files in artworks.items()}
    assert tests == {"han": 3, "kom": 1, "pair": 1, "single": 0}
    shuffled = {name: list(reversed(files)) for name, files in reversed(list(artworks.items()))}
    assert split_artworks(shuffled, 0.3, seed=1) == split
    assert len({tuple(sorted(split_artworks(artworks, 0.3, seed).items())) for seed in range(5)}) > 1
    assert set(split_artworks(artworks, 0.0, seed=1).values()) == {"train"}


def test_split_refuses_an_artwork_in_two_classes():
    with pytest.raises(ValueError, match="more than one class"):
        split_artworks({"a": [Path("x.png")], "b": [Path("x.png")]}, 0.5, seed=0)


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


CONFIG = TilingConfig(tile_size=TILE, tiles_per_artwork=3, test_fraction=0.4, seed=3)


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
    report = build_dataset(source, tmp_path / "ds", TilingConfig(tile_size=TILE, tiles_per_artwork=1), overwrite=True)
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
