from pathlib import Path

import pytest

from artcnn.splitting import split_artworks


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
