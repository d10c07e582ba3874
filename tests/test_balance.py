"""Per-source balanced sampling (artcnn.balance) and where fits use it (fitting.training_tiles)."""

from collections import Counter

import numpy as np
import pytest

from artcnn import fitting
from artcnn.balance import balanced_by_source
from artcnn.config import TrainConfig


def tiles(counts: dict[tuple[int, str], int]) -> tuple[list[str], np.ndarray, list[str]]:
    """Tile names `<source>_<n>.png` with their class and source, `counts[(class, source)]` of each."""
    files, labels, sources = [], [], []
    for (label, source), count in counts.items():
        for number in range(count):
            files.append(f"{source}_{number}.png")
            labels.append(label)
            sources.append(source)
    return files, np.array(labels), sources


def per_source(files: list[str], labels: np.ndarray) -> Counter:
    return Counter((int(label), name.split("_")[0]) for name, label in zip(files, labels))


def test_every_source_of_a_class_gives_it_as_many_tiles_and_each_class_keeps_its_count():
    # One dominant source (like Kandinsky among the hand-made works), a small one and a middling one.
    files, labels, sources = tiles({(0, "kandinsky"): 60, (0, "doodle"): 8, (0, "ink"): 22,
                                    (1, "p5"): 10, (1, "shader"): 30})
    balanced, new_labels = balanced_by_source(files, labels, sources, seed=0)
    counts = per_source(balanced, new_labels)
    assert counts == {(0, "kandinsky"): 30, (0, "doodle"): 30, (0, "ink"): 30, (1, "p5"): 20, (1, "shader"): 20}
    assert len(balanced) == len(files) and Counter(new_labels.tolist()) == Counter(labels.tolist())
    # A small source keeps every tile and repeats some; a large one gives distinct tiles.
    assert {name for name in balanced if name.startswith("doodle")} == {f"doodle_{n}.png" for n in range(8)}
    kandinsky = [name for name in balanced if name.startswith("kandinsky")]
    assert len(set(kandinsky)) == 30
    # Each file keeps its own label.
    assert all(new_labels[index] == labels[files.index(name)] for index, name in enumerate(balanced))


def test_an_uneven_split_gives_the_first_sources_one_more_and_keeps_the_total():
    files, labels, sources = tiles({(0, "b"): 5, (0, "a"): 1, (0, "c"): 5})
    balanced, new_labels = balanced_by_source(files, labels, sources, seed=3)
    assert per_source(balanced, new_labels) == {(0, "a"): 4, (0, "b"): 4, (0, "c"): 3}


def test_the_same_seed_gives_the_same_tiles_and_another_seed_others():
    files, labels, sources = tiles({(0, "big"): 40, (0, "small"): 5, (1, "gen"): 20})
    first = balanced_by_source(files, labels, sources, seed=1)
    assert first[0] == balanced_by_source(files, labels, sources, seed=1)[0]
    assert first[0] != balanced_by_source(files, labels, sources, seed=2)[0]


def test_a_class_with_a_single_source_and_tiles_without_a_source_are_left_as_they_are():
    files, labels, sources = tiles({(0, "only"): 7, (1, "x"): 9, (1, "y"): 3})
    files, labels = files + ["prior_0.png", "prior_1.png"], np.append(labels, [1, 1])
    balanced, new_labels = balanced_by_source(files, labels, [*sources, None, None], seed=0)
    assert [name for name in balanced if name.startswith("only")] == [f"only_{n}.png" for n in range(7)]
    assert balanced[-2:] == ["prior_0.png", "prior_1.png"] and new_labels[-2:].tolist() == [1, 1]
    assert per_source(balanced, new_labels)[(1, "x")] == per_source(balanced, new_labels)[(1, "y")] == 6


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="Received: 2 files, 2 labels, 1 sources"):
        balanced_by_source(["a_1.png", "a_2.png"], [0, 0], ["a"], seed=0)


def test_a_fit_balances_its_dataset_tiles_only_when_asked_and_appends_the_synthetic_ones_untouched():
    files, labels, _ = tiles({(0, "kandinsky"): 12, (0, "ink"): 4, (1, "p5"): 6})
    artworks = [f"/art/{name.split('_')[0]}_{int(name.split('_')[1][:-4]) // 2}.jpg" for name in files]
    prior = (fitting.SyntheticAdditions(("han", "kom"), ("prior_0.png",), "kom", 0.1, None),)
    same, same_labels = fitting.training_tiles(files, labels, artworks, *prior, TrainConfig())
    assert same == files + ["prior_0.png"] and same_labels.tolist() == [*labels.tolist(), 1]
    balanced, balanced_labels = fitting.training_tiles(files, labels, artworks, *prior,
                                                       TrainConfig(balance_sources=True))
    assert per_source(balanced[:-1], balanced_labels[:-1]) == {(0, "kandinsky"): 8, (0, "ink"): 8, (1, "p5"): 6}
    assert balanced[-1] == "prior_0.png"
    # A sources override (folds.assign_sources) puts the ink works with Kandinsky: one source, nothing to balance.
    merged = {artwork: "kandinsky" for artwork in artworks}
    assert fitting.training_tiles(files, labels, artworks, *prior, TrainConfig(balance_sources=True),
                                  merged)[0] == files + ["prior_0.png"]


def test_cross_validation_balances_each_folds_training_tiles(tmp_path, monkeypatch):
    from builders import write_sourced_artworks

    from artcnn import crossval
    from artcnn.config import TilingConfig
    from artcnn.dataset_build import build_dataset

    # kom: alpha 4 artworks, gamma 2, beta 1, so the fold leaving alpha out trains on 2 gamma : 1 beta.
    write_sourced_artworks(tmp_path / "art", per_class=8)
    kom = tmp_path / "art" / "kom"
    for number in range(2):
        (kom / f"beta_{number}.png").rename(kom / f"gamma_{number}.png")
    (kom / "beta_2.png").unlink()
    build_dataset(tmp_path / "art", tmp_path / "dataset", TilingConfig(tile_size=32, tiles_per_artwork=2,
                                                                       test_fraction=0.0, whole_view=False))
    trained = []

    def fake_fit(train_files, train_labels, test_files, n_classes, config, progress, stop):
        trained.append(per_source([file.rsplit("/", 1)[-1] for file in train_files], train_labels))
        return np.full((len(test_files), n_classes), 0.5)

    monkeypatch.setattr(crossval, "fit_and_predict", fake_fit)
    crossval.cross_validate(tmp_path / "dataset", TrainConfig(epochs=1, balance_sources=True))
    without_alpha = next(counts for counts in trained if not counts[(1, "alpha")])
    assert without_alpha[(1, "gamma")] == without_alpha[(1, "beta")] == 3
