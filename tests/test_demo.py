"""The synthetic demo collection: layout, sizes, formats, seeds, a third class, and its datasets."""

import json

import pytest

from artcnn.config import TilingConfig
from artcnn.dataset import read_description
from artcnn.dataset_build import SYNTHETIC_MARKER, build_dataset
from artcnn.demo import make_demo_collection
from artcnn.images import load_artwork
from artcnn.synthetic import CLASS_TECHNIQUES

SIZE = (96, 160)


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "collection"
    events = []
    return out, make_demo_collection(out, per_class=8, seed=0, size=SIZE, progress=events.append), events


def test_collection_layout_names_and_readme(collection):
    out, made, _ = collection
    assert sorted(made) == ["han", "kom"]
    for name in ("han", "kom"):
        assert len(made[name]) == 8 and all(path.parent == out / name and path.is_file() for path in made[name])
        assert {path.name.split("_")[0] for path in made[name]} == set(CLASS_TECHNIQUES[name])
        assert {path.suffix for path in made[name]} == {".png", ".jpg"}
    readme = (out / "README.txt").read_text()
    assert "SYNTHETIC" in readme and "han/" in readme and "kom/" in readme and "photo/" not in readme
    assert json.loads((out / SYNTHETIC_MARKER).read_text())["classes"] == ["han", "kom"]


def test_writing_the_collection_reports_progress(collection):
    _, _, events = collection
    assert {event.what for event in events} == {"demo"} and {event.total for event in events} == {16}
    assert [event.done for event in events] == list(range(1, 17))


def test_sizes_vary_within_each_class_and_files_load(collection):
    _, made, _ = collection
    for files in made.values():
        sizes = [load_artwork(path).size for path in files]
        assert all(SIZE[0] <= side <= SIZE[1] for size in sizes for side in size)
        assert len({width / height for width, height in sizes}) > 4


def test_datasets_built_from_the_demo_are_marked_synthetic(collection, tmp_path):
    out, _, _ = collection
    report = build_dataset(out, tmp_path / "ds", TilingConfig(tile_size=64, tiles_per_artwork=2))
    assert report.classes == ["han", "kom"] and not report.skipped
    assert read_description(tmp_path / "ds").synthetic is True


def test_the_same_seed_gives_the_same_artworks(tmp_path):
    first = make_demo_collection(tmp_path / "a", per_class=2, seed=5, size=(64, 64))
    again = make_demo_collection(tmp_path / "b", per_class=2, seed=5, size=(64, 64))
    other = make_demo_collection(tmp_path / "c", per_class=2, seed=6, size=(64, 64))
    for name in ("han", "kom"):
        assert [p.read_bytes() for p in first[name]] == [p.read_bytes() for p in again[name]]
        assert [p.read_bytes() for p in first[name]] != [p.read_bytes() for p in other[name]]


def test_a_third_class_joins_without_changing_the_others(tmp_path):
    two = make_demo_collection(tmp_path / "two", per_class=3, seed=1, size=(64, 64))
    three = make_demo_collection(tmp_path / "three", per_class=3, seed=1, size=(64, 64), classes=("han", "kom", "photo"))
    assert sorted(three) == ["han", "kom", "photo"] and len(three["photo"]) == 3
    assert {path.name.split("_")[0] for path in three["photo"]} == set(CLASS_TECHNIQUES["photo"])
    for name in ("han", "kom"):
        assert [p.read_bytes() for p in two[name]] == [p.read_bytes() for p in three[name]]
    assert "photo/" in (tmp_path / "three" / "README.txt").read_text()
    report = build_dataset(tmp_path / "three", tmp_path / "ds", TilingConfig(tile_size=32, tiles_per_artwork=1))
    assert report.classes == ["han", "kom", "photo"]


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="per_class"):
        make_demo_collection(tmp_path / "x", per_class=0)
    with pytest.raises(ValueError, match="size"):
        make_demo_collection(tmp_path / "x", size=(200, 100))
    for classes in (("kom",), ("kom", "kom"), ("kom", "oil")):
        with pytest.raises(ValueError, match=r"classes must be two or more different names of han, kom, photo. "
                                             r"Received: classes="):
            make_demo_collection(tmp_path / "x", classes=classes)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        make_demo_collection(tmp_path / "busy")
