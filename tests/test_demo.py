import numpy as np
import pytest
from PIL import Image

from artcnn.config import TilingConfig
from artcnn.demo import HAN_TECHNIQUES, KOM_TECHNIQUES, generate_han, generate_kom, make_demo_collection
from artcnn.images import load_artwork
from artcnn.tiling import build_dataset, read_report

SIZE = (96, 160)


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "collection"
    return out, make_demo_collection(out, per_class=8, seed=0, size=SIZE)


def test_collection_layout_names_and_readme(collection):
    out, made = collection
    assert sorted(made) == ["han", "kom"]
    for name, techniques in (("han", HAN_TECHNIQUES), ("kom", KOM_TECHNIQUES)):
        assert len(made[name]) == 8 and all(path.parent == out / name and path.is_file() for path in made[name])
        assert {path.name.split("_")[0] for path in made[name]} == set(techniques)
        assert {path.suffix for path in made[name]} == {".png", ".jpg"}
    assert "SYNTHETIC" in (out / "README.txt").read_text()


def test_sizes_vary_within_each_class_and_files_load(collection):
    _, made = collection
    for files in made.values():
        sizes = [load_artwork(path).size for path in files]
        assert all(SIZE[0] <= side <= SIZE[1] for size in sizes for side in size)
        assert len({width / height for width, height in sizes}) > 4


def test_datasets_built_from_the_demo_are_marked_synthetic(collection, tmp_path):
    out, _ = collection
    report = build_dataset(out, tmp_path / "ds", TilingConfig(tile_size=64, tiles_per_artwork=2))
    assert report.classes == ["han", "kom"] and not report.skipped
    assert read_report(tmp_path / "ds")["synthetic"] is True


def test_the_same_seed_gives_the_same_artworks(tmp_path):
    first = make_demo_collection(tmp_path / "a", per_class=2, seed=5, size=(64, 64))
    again = make_demo_collection(tmp_path / "b", per_class=2, seed=5, size=(64, 64))
    other = make_demo_collection(tmp_path / "c", per_class=2, seed=6, size=(64, 64))
    for name in ("han", "kom"):
        assert [p.read_bytes() for p in first[name]] == [p.read_bytes() for p in again[name]]
        assert [p.read_bytes() for p in first[name]] != [p.read_bytes() for p in other[name]]


@pytest.mark.parametrize("technique", sorted(KOM_TECHNIQUES))
def test_every_kom_technique_draws_an_rgb_image(technique):
    image = generate_kom(np.random.default_rng(0), 120, 80, technique)
    assert image.mode == "RGB" and image.size == (120, 80)
    assert np.asarray(image).std() > 5


@pytest.mark.parametrize("technique", sorted(HAN_TECHNIQUES))
def test_every_han_technique_draws_an_rgb_image(technique):
    image = generate_han(np.random.default_rng(0), 120, 80, technique)
    assert image.mode == "RGB" and image.size == (120, 80)
    assert np.asarray(image).std() > 5


def _exact_neighbours(image: Image.Image) -> float:
    """Share of horizontally adjacent pixel pairs with identical colour: flat fills score high."""
    pixels = np.asarray(image).astype(int)
    return float((pixels[:, 1:] == pixels[:, :-1]).all(axis=2).mean())


def test_classes_differ_in_how_marks_are_made_not_in_mean_colour():
    rng = np.random.default_rng(3)
    kom = [generate_kom(rng, 96, 96) for _ in range(16)]
    han = [generate_han(rng, 96, 96) for _ in range(16)]
    # Code draws exact flat colour; hand work sits on grainy paper with uneven pigment.
    assert min(_exact_neighbours(image) for image in kom) > 0.5
    assert max(_exact_neighbours(image) for image in han) < 0.3
    # Palettes come from one distribution: mean brightness ranges overlap.
    kom_means = [np.asarray(image).mean() for image in kom]
    han_means = [np.asarray(image).mean() for image in han]
    assert min(kom_means) < max(han_means) and min(han_means) < max(kom_means)


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="per_class"):
        make_demo_collection(tmp_path / "x", per_class=0)
    with pytest.raises(ValueError, match="size"):
        make_demo_collection(tmp_path / "x", size=(200, 100))
    with pytest.raises(ValueError, match="technique"):
        generate_kom(np.random.default_rng(0), 64, 64, "oil")
    with pytest.raises(ValueError, match="width and height"):
        generate_han(np.random.default_rng(0), 8, 64)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        make_demo_collection(tmp_path / "busy")
