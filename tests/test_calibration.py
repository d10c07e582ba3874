import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artcnn.calibration import class_thresholds, conformal_quantile, prediction_sets
from artcnn.prediction import NEEDS_REVIEW, decide


def test_conformal_quantile_takes_the_ceil_n_plus_one_rank():
    scores = np.arange(1, 100)  # 99 scores
    # ⌈100 · 0.9⌉ = 90th smallest.
    assert conformal_quantile(scores[::-1], 0.1) == 90
    # 19 scores are the fewest for a 5% rate: the largest one is the quantile.
    assert conformal_quantile(np.linspace(0, 1, 19), 0.05) == 1.0


def test_conformal_quantile_refuses_too_few_scores_and_bad_rates():
    with pytest.raises(ValueError, match="needs at least 19 calibration artworks per class. Received: 18"):
        conformal_quantile(np.linspace(0, 1, 18), 0.05)
    with pytest.raises(ValueError, match=r"error_rate must be in \(0, 1\). Received: error_rate=0"):
        conformal_quantile([0.1, 0.2], 0)


def binary(p_kom, error_rate):
    """Calibration of a two-class model from p(kom) and whether each artwork is kom."""
    p_kom = np.asarray(p_kom, dtype=np.float64)
    return lambda is_kom: class_thresholds(np.c_[1 - p_kom, p_kom], np.asarray(is_kom, dtype=int), ["han", "kom"],
                                           error_rate)


def label(p_kom: float, calibration) -> str:
    return decide(np.array([1 - p_kom, p_kom]), ["han", "kom"], calibration.metadata())[0]


def test_separated_classes_send_only_the_unseen_middle_to_review():
    # 39 han artworks at p(kom) 0.00..0.19 and 39 kom at 0.81..1.00: with 5%, rank ⌈40 · 0.95⌉ = 38 of 39.
    han = np.linspace(0.0, 0.19, 39)
    kom = np.linspace(0.81, 1.0, 39)
    calibration = binary(np.r_[han, kom], 0.05)(np.r_[np.zeros(39), np.ones(39)])

    # han is in the set up to p(kom) = han[37], kom from p(kom) = kom[1]: the old review band's ends.
    assert calibration.thresholds == {"han": pytest.approx(1 - han[37]), "kom": pytest.approx(kom[1])}
    assert [label(p, calibration) for p in (0.0, han[37], 0.5, kom[1], 1.0)] == ["han", "han", NEEDS_REVIEW, "kom", "kom"]
    assert calibration.counts == {"han": 39, "kom": 39}
    assert calibration.review_share == {"han": pytest.approx(1 / 39), "kom": pytest.approx(1 / 39)}
    assert calibration.error_share == {"han": 0.0, "kom": 0.0}


def test_overlapping_classes_send_the_ambiguous_range_to_review_with_ties_included():
    # Scores on a coarse grid, so ties sit exactly on the thresholds.
    han = np.repeat([0.1, 0.3, 0.5, 0.7], [10, 6, 3, 1])
    kom = np.repeat([0.3, 0.5, 0.7, 0.9], [1, 3, 6, 10])
    calibration = binary(np.r_[han, kom], 0.1)(np.r_[np.zeros(20), np.ones(20)])
    # han: ⌈21 · 0.9⌉ = 19th largest p(han) = 0.5; kom: 19th largest p(kom) = 0.5, so kom is possible from p = 0.5.
    assert [label(p, calibration) for p in (0.3, 0.5, 0.7)] == ["han", NEEDS_REVIEW, "kom"]


def draw_classes(rng, n: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Dirichlet probabilities, each leaning towards its artwork's class."""
    true = rng.integers(0, n_classes, n)
    concentration = np.ones((n, n_classes)) * 2.0
    concentration[np.arange(n), true] = 1.5 * n_classes + 1
    return np.stack([rng.dirichlet(row) for row in concentration]), true


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_the_error_rate_holds_per_class_on_new_artworks_like_the_calibration_ones(n_classes):
    rng = np.random.default_rng(n_classes)
    classes = [f"c{index}" for index in range(n_classes)]
    calibration = class_thresholds(*draw_classes(rng, 2000 * n_classes, n_classes), classes, error_rate=0.05)
    probabilities, true = draw_classes(rng, 30000, n_classes)
    sets = prediction_sets(probabilities, [calibration.thresholds[name] for name in classes])
    decided = sets.sum(axis=1) == 1
    for index in range(n_classes):
        members = true == index
        # Coverage: the true class is missing from the set at most the error rate of the time ...
        # (on average over calibration draws; one draw of 2000 strays by about ±0.005).
        assert (~sets[members, index]).mean() <= 0.05 + 0.015
        # ... so a label, given only for a one-class set, is wrong no more often.
        assert (decided & ~sets[:, index])[members].mean() <= 0.05 + 0.015
    # Overlapping classes: review must be doing the work.
    assert 0.05 < (~decided).mean() < 0.95


def test_two_class_sets_are_the_old_threshold_and_review_band():
    # Before class thresholds, a binary model had one band on p(kom): han up to the ⌈(n+1)(1-α)⌉-th
    # smallest p(kom) among han, kom from the same rank of 1 - p(kom) among kom, review elsewhere.
    rng = np.random.default_rng(7)
    is_kom = rng.random(400) < 0.5
    p_kom = np.where(is_kom, rng.beta(5, 2, 400), rng.beta(2, 5, 400))
    calibration = binary(p_kom, 0.1)(is_kom)
    han_upper = conformal_quantile(p_kom[~is_kom], 0.1)
    kom_lower = 1 - conformal_quantile(1 - p_kom[is_kom], 0.1)
    grid = np.linspace(0, 1, 2001)
    old = np.where((grid <= han_upper) == (grid >= kom_lower), NEEDS_REVIEW, np.where(grid >= kom_lower, "kom", "han"))
    new = np.array([label(p, calibration) for p in grid])
    # Equal up to float rounding at the two ends.
    assert (old != new).sum() <= 2


def test_three_classes_label_a_one_class_set_and_review_the_rest():
    classes = ["han", "kom", "photo"]
    # 19 calibration artworks per class: with 5% the threshold is each class's lowest own probability.
    rng = np.random.default_rng(3)
    rows, true = [], []
    for index in range(3):
        own = np.linspace(0.6, 0.9, 19)
        others = (1 - own)[:, None] * rng.dirichlet([1, 1], 19)
        rows.append(np.insert(others, index, own, axis=1))
        true += [index] * 19
    calibration = class_thresholds(np.vstack(rows), true, classes, 0.05)
    assert calibration.thresholds == {name: pytest.approx(0.6) for name in classes}
    assert calibration.counts == {name: 19 for name in classes}
    assert calibration.review_share == {name: 0.0 for name in classes}
    metadata = calibration.metadata()
    assert decide(np.array([0.1, 0.2, 0.7]), classes, metadata) == ("photo", 0.7)
    # No class reaches its threshold: unlike anything seen.
    assert decide(np.array([0.4, 0.3, 0.3]), classes, metadata) == (NEEDS_REVIEW, 0.4)
    # Two classes do (a lower threshold): ambiguous.
    metadata["class_thresholds"]["kom"] = 0.3
    assert decide(np.array([0.62, 0.35, 0.03]), classes, metadata)[0] == NEEDS_REVIEW


def test_too_few_artworks_of_a_class_name_the_class_and_the_flag():
    probabilities = np.tile([[0.8, 0.1, 0.1]], (30, 1))
    true = np.r_[np.zeros(19, int), np.full(11, 2)]
    with pytest.raises(ValueError, match="Received: none of class 'kom'"):
        class_thresholds(probabilities, true, ["han", "kom", "photo"], 0.05)
    true = np.r_[np.zeros(19, int), np.ones(9, int), np.full(2, 2)]
    with pytest.raises(ValueError, match=r"needs at least 19 calibration artworks per class. Received: 9 of class "
                                         r"'kom'.*--error-rate on the command line, error_rate= in Python; "
                                         r"0\.1 works with 9"):
        class_thresholds(probabilities, true, ["han", "kom", "photo"], 0.05)


def test_class_thresholds_check_their_input():
    with pytest.raises(ValueError, match="Received: none of class 'kom'"):
        binary(np.linspace(0, 1, 30), 0.05)(np.zeros(30))
    with pytest.raises(ValueError, match="one row per artwork. Received: 3 rows of probabilities, 2 labels"):
        binary([0.1, 0.2, 0.3], 0.05)([0, 1])
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        binary([0.1, 1.5], 0.5)([0, 1])
    with pytest.raises(ValueError, match="one column per class"):
        class_thresholds(np.ones((4, 3)) / 3, [0, 1, 0, 1], ["han", "kom"])
    with pytest.raises(ValueError, match=r"class indices 0-1. Received: \[0 1 2\]"):
        class_thresholds(np.ones((3, 2)) / 2, [0, 1, 2], ["han", "kom"])
    with pytest.raises(ValueError, match=r"error_rate must be in \(0, 1\). Received: error_rate=1"):
        binary([0.1, 0.9], 1)([0, 1])


def brightness_model():
    """p(kom) = sigmoid(8 · mean grey - 4): dark tiles are han, light tiles kom."""
    keras = pytest.importorskip("keras")
    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.full((3, 1), 8 / 3, dtype=np.float32), np.array([-4.0], dtype=np.float32)])
    return model


def test_calibrate_model_writes_the_thresholds_into_the_model_and_classify_uses_them(tmp_path, capsys):
    from artcnn.calibration import calibrate_model
    from artcnn.cli import main
    from artcnn.prediction import classify
    from artcnn.storage import read_metadata, save_model

    # 20 test artworks per class: han grey 0-95, kom grey 160-255, one 32-px tile each.
    rows = []
    for name, levels in (("han", range(0, 100, 5)), ("kom", range(160, 260, 5))):
        for level in levels:
            tile = f"test/{name}/{name}_{level}.png"
            (tmp_path / tile).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (32, 32), (min(level, 255),) * 3).save(tmp_path / tile)
            rows.append({"tile": tile, "artwork": f"{name}/{name}_{level}.png", "sha256": "0" * 64, "class": name,
                         "split": "test", "x": 0, "y": 0})
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    (tmp_path / "dataset.json").write_text(json.dumps({"classes": ["han", "kom"], "tiling": {"tile_size": 32}}))
    model_path = save_model(brightness_model(), tmp_path / "model.keras",
                            {"classes": ["han", "kom"], "input_size": 32, "tiling": {"tile_size": 32}})

    calibration = calibrate_model(model_path, tmp_path, error_rate=0.05)
    metadata = read_metadata(model_path)
    assert metadata["class_thresholds"] == calibration.thresholds
    assert metadata["calibration"]["counts"] == {"han": 20, "kom": 20}
    assert metadata["tiling"] == {"tile_size": 32}

    # Mid-grey lies between the brightest han and the darkest kom seen in calibration.
    for level, expected in ((20, "han"), (128, NEEDS_REVIEW), (240, "kom")):
        Image.new("RGB", (32, 32), (level,) * 3).save(tmp_path / f"new_{level}.png")
        [result] = classify(model_path, [tmp_path / f"new_{level}.png"])
        assert result.label == expected

    assert main(["calibrate", str(model_path), str(tmp_path), "--error-rate", "0.1"]) == 0
    assert read_metadata(model_path)["calibration"]["error_rate"] == 0.1
    assert main(["calibrate", str(model_path), str(tmp_path), "--error-rate", "0.01"]) == 2
    assert "--error-rate" in capsys.readouterr().err

    # Whole artworks in class folders are classified as `classify` does, each one reported as it is scored;
    # a model calibrated before class thresholds loses its stale band.
    save_model(brightness_model(), model_path, {**read_metadata(model_path), "threshold": 0.5, "review_band": [0, 1]})
    for name, levels in (("han", range(0, 100, 5)), ("kom", range(160, 260, 5))):
        (tmp_path / "whole" / name).mkdir(parents=True)
        for level in levels:
            Image.new("RGB", (40, 40), (min(level, 255),) * 3).save(tmp_path / "whole" / name / f"{level}.png")
    events = []
    again = calibrate_model(model_path, tmp_path / "whole", error_rate=0.05, progress=events.append)
    assert [(event.what, event.done, event.total) for event in events] == [("calibrating", done, 40)
                                                                           for done in range(1, 41)]
    assert events[0].message == "0.png" and events[0].payload.label in ("han", "kom", NEEDS_REVIEW)
    assert again.counts == {"han": 20, "kom": 20}
    metadata = read_metadata(model_path)
    assert "threshold" not in metadata and "review_band" not in metadata
    assert metadata["calibration"]["split"] == "whole artworks"
