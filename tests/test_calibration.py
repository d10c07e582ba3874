import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artcnn.calibration import conformal_quantile, review_band
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


def label(p_kom: float, calibration) -> str:
    metadata = {"threshold": calibration.threshold, "review_band": list(calibration.review_band)}
    return decide(np.array([1 - p_kom, p_kom]), ["han", "kom"], metadata)[0]


def test_separated_classes_send_only_the_unseen_middle_to_review():
    # 39 han artworks at p(kom) 0.00..0.19 and 39 kom at 0.81..1.00: with 5%, rank ⌈40 · 0.95⌉ = 38 of 39.
    han = np.linspace(0.0, 0.19, 39)
    kom = np.linspace(0.81, 1.0, 39)
    calibration = review_band(np.r_[han, kom], np.r_[np.zeros(39), np.ones(39)], 0.05)

    low, high = calibration.review_band
    assert low == pytest.approx(han[37]) and high == pytest.approx(kom[1])
    assert calibration.threshold == pytest.approx((low + high) / 2)
    assert [label(p, calibration) for p in (0.0, han[37], 0.5, kom[1], 1.0)] == ["han", "han", NEEDS_REVIEW, "kom", "kom"]
    assert calibration.counts == {"han": 39, "kom": 39}
    assert calibration.review_share == {"han": pytest.approx(1 / 39), "kom": pytest.approx(1 / 39)}
    assert calibration.error_share == {"han": 0.0, "kom": 0.0}


def test_overlapping_classes_send_the_ambiguous_range_to_review_with_ties_included():
    # Scores on a coarse grid, so ties sit exactly on the band's ends.
    han = np.repeat([0.1, 0.3, 0.5, 0.7], [10, 6, 3, 1])
    kom = np.repeat([0.3, 0.5, 0.7, 0.9], [1, 3, 6, 10])
    calibration = review_band(np.r_[han, kom], np.r_[np.zeros(20), np.ones(20)], 0.1)
    # han: ⌈21 · 0.9⌉ = 19th smallest p = 0.5; kom: 19th smallest 1 - p = 0.5, so kom is possible from p = 0.5.
    assert [label(p, calibration) for p in (0.3, 0.5, 0.7)] == ["han", NEEDS_REVIEW, "kom"]


def test_the_error_rate_holds_per_class_on_new_artworks_like_the_calibration_ones():
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        positive = rng.random(n) < 0.4
        return np.where(positive, rng.beta(5, 2, n), rng.beta(2, 5, n)), positive

    calibration = review_band(*draw(2000), error_rate=0.05)
    p_kom, positive = draw(20000)
    low, high = calibration.review_band
    decided = (p_kom <= low) | (p_kom >= high)
    wrong = decided & ((p_kom >= calibration.threshold) != positive)
    for members in (positive, ~positive):
        assert wrong[members].mean() <= 0.05 + 0.01
    # Overlapping classes: the band must be doing the work.
    assert 0.1 < (~decided).mean() < 0.9


def test_review_band_checks_its_input():
    with pytest.raises(ValueError, match="Received: none of class 'kom'"):
        review_band(np.linspace(0, 1, 30), np.zeros(30), 0.05)
    with pytest.raises(ValueError, match="same length. Received: 3 scores, 2 labels"):
        review_band([0.1, 0.2, 0.3], [0, 1], 0.05)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        review_band([0.1, 1.5], [0, 1], 0.5)


def brightness_model():
    """p(kom) = sigmoid(8 · mean grey - 4): dark tiles are han, light tiles kom."""
    keras = pytest.importorskip("keras")
    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.full((3, 1), 8 / 3, dtype=np.float32), np.array([-4.0], dtype=np.float32)])
    return model


def test_calibrate_model_writes_the_band_into_the_model_and_classify_uses_it(tmp_path):
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
    assert metadata["threshold"] == calibration.threshold
    assert metadata["review_band"] == list(calibration.review_band)
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
