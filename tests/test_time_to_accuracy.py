"""bench/time_to_accuracy.py's arithmetic: the accuracy curve of a run's history and the first epoch reaching a
target. Nothing here trains or measures speed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.time_to_accuracy import curve, subset, time_to  # noqa: E402

HISTORY = [{"epoch": 1, "val_accuracy": 0.70, "seconds": 10.0}, {"epoch": 2, "val_accuracy": 0.85, "seconds": 12.5},
           {"epoch": 3, "val_accuracy": 0.80, "seconds": 11.0}, {"epoch": 4, "val_accuracy": 0.86, "seconds": 9.0}]


def test_the_curve_adds_up_the_epochs_seconds():
    assert curve(HISTORY) == [(1, 0.70, 10.0), (2, 0.85, 22.5), (3, 0.80, 33.5), (4, 0.86, 42.5)]


def test_time_to_accuracy_is_the_first_epoch_at_or_above_the_target():
    points = curve(HISTORY)
    assert time_to(points, 0.85) == (2, 22.5)
    assert time_to(points, 0.86) == (4, 42.5)
    assert time_to(points, 0.9) is None


def test_a_subset_links_the_first_artworks_of_each_class(tmp_path):
    for klass in ("han", "kom"):
        (tmp_path / "art" / klass).mkdir(parents=True)
        for index in range(4):
            (tmp_path / "art" / klass / f"{klass}_{index}.png").write_bytes(b"x")
    folder = subset(tmp_path / "art", tmp_path / "subset", 2)
    assert sorted(str(path.relative_to(folder)) for path in folder.rglob("*.png")) == [
        "han/han_0.png", "han/han_1.png", "kom/kom_0.png", "kom/kom_1.png"]
    assert (folder / "han" / "han_0.png").resolve() == (tmp_path / "art" / "han" / "han_0.png").resolve()
