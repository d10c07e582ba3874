import itertools
import json

import numpy as np
import pandas as pd
import pytest

from artcnn.config import TilingConfig
from artcnn.evaluation import class_probabilities, roc_auc, source_of, summarise, tile_mean, wilson_interval


@pytest.mark.parametrize(
    ("successes", "total", "expected"),
    [
        (8, 10, (0.4902, 0.9433)),
        (10, 10, (0.7225, 1.0)),
        (0, 10, (0.0, 0.2775)),
        (50, 100, (0.4038, 0.5962)),
        (0, 0, (0.0, 1.0)),
    ],
)
def test_wilson_interval_matches_published_values(successes, total, expected):
    assert wilson_interval(successes, total) == pytest.approx(expected, abs=5e-4)


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError, match="Received: successes=11, total=10"):
        wilson_interval(11, 10)


@pytest.mark.parametrize(
    ("path", "source"),
    [("han/kandinsky_07.jpg", "kandinsky"), ("penne_a_b.png", "penne"), ("kom/kaufman24_3.tif", "kaufman24"),
     ("plain.jpg", "plain")],
)
def test_source_is_the_filename_prefix(path, source):
    assert source_of(path) == source


def test_roc_auc_counts_ties_as_half():
    # Positives 0.4, 0.8, 0.9 against negatives 0.1, 0.35, 0.4: 8 pairs won, one tie -> 8.5 / 9.
    y_true = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.4, 0.4, 0.8, 0.35, 0.9]
    assert roc_auc(y_true, scores) == pytest.approx(8.5 / 9)


def test_roc_auc_agrees_with_counting_pairs():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, 40)
    scores = rng.integers(0, 5, 40) / 4  # few distinct values: many ties
    positives, negatives = scores[y_true == 1], scores[y_true == 0]
    pairs = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(positives, negatives)]
    assert roc_auc(y_true, scores) == pytest.approx(np.mean(pairs))


def test_roc_auc_is_undefined_for_one_class():
    assert roc_auc([1, 1, 1], [0.2, 0.5, 0.9]) is None
    assert roc_auc([0, 1], [0.9, 0.1]) == 0.0


def test_class_probabilities_expands_a_sigmoid_unit():
    np.testing.assert_allclose(class_probabilities([[0.25], [1.0]], 2), [[0.75, 0.25], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"shape \[n, 3\]. Received: shape=\(2, 1\)"):
        class_probabilities([[0.25], [1.0]], 3)


# Four artworks from three sources in three classes; rows are tiles.
TILES = [
    ("han/kandinsky_1.png", "a", [0.8, 0.1, 0.1]),
    ("han/kandinsky_1.png", "a", [0.4, 0.5, 0.1]),  # wrong tile, right artwork
    ("b/penne_1.png", "b", [0.2, 0.5, 0.3]),
    ("b/penne_1.png", "b", [0.3, 0.4, 0.3]),
    ("c/penne_2.png", "c", [0.5, 0.2, 0.3]),  # the misclassified artwork
    ("c/kaufman24_x.png", "c", [0.1, 0.1, 0.8]),
    ("c/kaufman24_x.png", "c", [0.6, 0.3, 0.1]),
    ("c/kaufman24_x.png", "c", [0.1, 0.2, 0.7]),
]


def hand_made(order=None):
    order = range(len(TILES)) if order is None else order
    manifest = pd.DataFrame(
        [{"tile": f"test/{TILES[i][1]}/tile{i}.png", "artwork": TILES[i][0], "class": TILES[i][1], "split": "test"}
         for i in order]
    )
    return manifest, np.array([TILES[i][2] for i in order])


def test_a_whole_view_weighs_in_the_tile_mean_as_one_training_tile_of_many():
    # 8 detail tiles at p(kom) 0.2, a whole view at 1.0; trained on 4 random tiles and the whole view (one in five).
    probabilities = np.array([[0.8, 0.2]] * 8 + [[0.0, 1.0]])
    whole = [False] * 8 + [True]
    assert tile_mean(probabilities, whole, TilingConfig(tiles_per_artwork=4)) == pytest.approx([0.64, 0.36])
    # Trained on grid tiles, or without a whole view here (a file one tile wide): the plain mean.
    assert tile_mean(probabilities, whole, TilingConfig(tiles_per_artwork=4, grid=True)) == pytest.approx(
        probabilities.mean(axis=0))
    assert tile_mean(probabilities[:8], whole[:8], TilingConfig(tiles_per_artwork=4)) == pytest.approx([0.8, 0.2])
    with pytest.raises(ValueError, match="Received: 8 flags for 9 tiles"):
        tile_mean(probabilities, whole[:8], TilingConfig())


def test_summarise_three_classes_by_hand():
    manifest, probs = hand_made()
    summary = summarise(manifest, probs, ["a", "b", "c"])

    assert summary["n_tiles"] == 8 and summary["n_artworks"] == 4
    assert summary["tile_accuracy"]["correct"] == 5 and summary["tile_accuracy"]["value"] == pytest.approx(5 / 8)
    assert (summary["tile_accuracy"]["low"], summary["tile_accuracy"]["high"]) == pytest.approx(wilson_interval(5, 8))
    assert summary["artwork_accuracy"]["correct"] == 3 and summary["artwork_accuracy"]["total"] == 4
    assert summary["tile_confusion"] == [[1, 1, 0], [0, 2, 0], [2, 0, 2]]
    assert summary["artwork_confusion"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    # One-vs-rest on artwork means: a and b separate perfectly; for c, penne_2 (0.3) ties penne_1 (0.3).
    assert summary["roc_auc"] == pytest.approx((1 + 1 + 0.875) / 3)

    per_source = summary["per_source"]
    assert list(per_source) == ["kandinsky", "kaufman24", "penne"]
    assert per_source["penne"]["correct"] == 1 and per_source["penne"]["total"] == 2
    assert per_source["penne"]["classes"] == {"b": 1, "c": 1}
    assert per_source["kaufman24"]["value"] == 1.0

    [wrong] = summary["misclassified"]
    assert (wrong["artwork"], wrong["true"], wrong["predicted"]) == ("c/penne_2.png", "c", "a")
    assert wrong["probabilities"] == pytest.approx({"a": 0.5, "b": 0.2, "c": 0.3})
    assert [tile["tile"] for tile in wrong["tiles"]] == ["test/c/tile4.png"]
    json.dumps(summary)


def test_summarise_does_not_depend_on_row_order():
    shuffled = summarise(*hand_made([7, 2, 0, 5, 4, 1, 6, 3]), ["a", "b", "c"])
    assert shuffled == summarise(*hand_made(), ["a", "b", "c"])


def test_a_statistics_head_blends_into_every_artworks_verdict():
    from artcnn.evaluation import artwork_probabilities
    from artcnn.image_statistics import NAMES, StatisticsHead

    manifest, probs = hand_made()
    artworks = sorted(set(manifest["artwork"]))
    # A head that only reads the first statistic, sure of class c when it is high.
    coefficients = np.zeros((len(NAMES) + 1, 3))
    coefficients[0, 2] = 20.0
    head = StatisticsHead(classes=("a", "b", "c"), weight=0.6, mean=(0.0,) * len(NAMES), scale=(1.0,) * len(NAMES),
                          coefficients=tuple(map(tuple, coefficients)))
    statistics = pd.DataFrame(0.0, index=artworks, columns=list(NAMES))
    statistics.loc["c/penne_2.png", NAMES[0]] = 1.0
    table = artwork_probabilities(manifest, probs, ["a", "b", "c"], head=head, statistics={"file": statistics})
    plain = artwork_probabilities(manifest, probs, ["a", "b", "c"])
    expected = head.blend(plain[["p_a", "p_b", "p_c"]].to_numpy(), statistics.loc[plain["artwork"]].to_numpy())
    np.testing.assert_allclose(table[["p_a", "p_b", "p_c"]].to_numpy(), expected)
    # penne_2's tiles said a; with its statistics the verdict is c, so every artwork is now right.
    summary = summarise(manifest, probs, ["a", "b", "c"], head=head, statistics={"file": statistics})
    assert summary["artwork_accuracy"]["correct"] == 4 and summary["misclassified"] == []
    assert summary["tile_accuracy"] == summarise(manifest, probs, ["a", "b", "c"])["tile_accuracy"]
    with pytest.raises(ValueError, match=r"Measure its statistics again \(python -m artcnn statistics DATASET"):
        summarise(manifest, probs, ["a", "b", "c"], head=head, statistics=None)
    with pytest.raises(ValueError, match="lack 1 artwork"):
        summarise(manifest, probs, ["a", "b", "c"], head=head, statistics={"file": statistics.drop(index="b/penne_1.png")})


def test_summarise_binary_with_sigmoid_outputs():
    manifest = pd.DataFrame({
        "tile": [f"t{i}.png" for i in range(5)],
        "artwork": ["han/x_1.jpg", "han/x_1.jpg", "han/y_1.jpg", "kom/z_1.jpg", "kom/z_2.jpg"],
        "class": ["han", "han", "han", "kom", "kom"],
    })
    p_kom = np.array([[0.2], [0.6], [0.7], [0.9], [0.4]])
    summary = summarise(manifest, p_kom, ["han", "kom"])

    # Artwork p(kom): x 0.4 -> han, y 0.7 -> kom (wrong), z_1 0.9 -> kom, z_2 0.4 -> han (wrong).
    assert summary["artwork_confusion"] == [[1, 1], [1, 1]]
    assert summary["tile_confusion"] == [[1, 2], [1, 1]]
    # Positives 0.9, 0.4 against negatives 0.4, 0.7: 0.9 wins both, 0.4 ties one -> 2.5 / 4.
    assert summary["roc_auc"] == pytest.approx(2.5 / 4)
    assert [m["artwork"] for m in summary["misclassified"]] == ["han/y_1.jpg", "kom/z_2.jpg"]


def test_summarise_rejects_inconsistent_input():
    manifest, probs = hand_made()
    with pytest.raises(ValueError, match="one row per manifest row. Received: 7 rows for 8 tiles"):
        summarise(manifest, probs[:7], ["a", "b", "c"])
    with pytest.raises(ValueError, match="classes the model does not know: c"):
        summarise(manifest, probs[:, :2], ["a", "b"])
    mixed = manifest.assign(artwork="same.png")
    with pytest.raises(ValueError, match="artwork same.png has tiles in more than one class"):
        summarise(mixed, probs, ["a", "b", "c"])
    with pytest.raises(ValueError, match="no tiles"):
        summarise(manifest.iloc[:0], probs[:0], ["a", "b", "c"])


def brightness_model():
    """p(kom) = sigmoid(4 * (r + g + b) - 6): dark tiles are han, light tiles kom."""
    keras = pytest.importorskip("keras")
    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.full((3, 1), 4.0, dtype=np.float32), np.array([-6.0], dtype=np.float32)])
    return model


def write_dataset(folder, tiles):
    """A dataset folder in the contract's layout; tiles: (split, class, artwork, grey level)."""
    from PIL import Image

    rows = []
    for number, (split, name, artwork, level) in enumerate(tiles):
        tile = f"{split}/{name}/{artwork.split('.')[0]}_{number}.png"
        (folder / tile).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), (level,) * 3).save(folder / tile)
        rows.append({"tile": tile, "artwork": f"{name}/{artwork}", "sha256": "0" * 64, "class": name,
                     "split": split, "x": 0, "y": 0})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    (folder / "dataset.json").write_text(json.dumps({"classes": ["han", "kom"], "tiling": {"tile_size": 32}}))
    return folder


def test_evaluate_model_on_a_dataset_folder(tmp_path):
    from artcnn.evaluation import evaluate_model

    dataset = write_dataset(tmp_path, [
        ("train", "han", "ink_1.jpg", 0),
        ("test", "han", "ink_2.jpg", 10),
        ("test", "han", "ink_2.jpg", 250),
        ("test", "han", "ink_2.jpg", 20),
        ("test", "han", "pencil_1.jpg", 240),  # a light drawing: the model calls it kom
        ("test", "kom", "plotter_1.png", 255),
        ("test", "kom", "plotter_2.png", 230),
    ])
    summary = evaluate_model(brightness_model(), dataset, batch_size=2)

    assert (summary["n_tiles"], summary["n_artworks"]) == (6, 4)
    assert summary["tile_confusion"] == [[2, 2], [0, 2]]
    assert summary["artwork_confusion"] == [[1, 1], [0, 2]]
    assert [m["artwork"] for m in summary["misclassified"]] == ["han/pencil_1.jpg"]
    assert summary["per_source"]["pencil"]["value"] == 0.0
    assert evaluate_model(brightness_model(), dataset, split="all")["n_tiles"] == 7
