import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

keras = pytest.importorskip("keras")

from artcnn import export as exporting  # noqa: E402
from artcnn.cli import main  # noqa: E402
from artcnn.config import TilingConfig, to_dict  # noqa: E402
from artcnn.export import export_model, score_saved_model, score_tflite  # noqa: E402
from artcnn.images import load_artwork  # noqa: E402
from artcnn.models import create_model, get_recipe  # noqa: E402
from artcnn.prediction import classify  # noqa: E402
from artcnn.storage import save_model  # noqa: E402
from artcnn.tiling import cut_tiles  # noqa: E402

# Tiles of 48 px shrunk to the model's 32 px input, so the resize inside the export is exercised.
# Trained on 10 random tiles and a whole view: the whole view weighs 1/11 of an artwork's verdict.
TILING = TilingConfig(tile_size=48, blank_threshold=0.0, tiles_per_artwork=10)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    recipe = dataclasses.replace(get_recipe("default"), input_size=32)
    model = create_model(recipe, 2, weights=None, seed=3)
    metadata = {"classes": ["han", "kom"], "input_size": 32, "tiling": to_dict(TILING), "recipe": to_dict(recipe),
                "class_thresholds": {"han": 0.4, "kom": 0.4}}
    return save_model(model, tmp_path_factory.mktemp("model") / "tiny.keras", metadata)


@pytest.fixture(scope="module")
def artwork(tmp_path_factory):
    pixels = np.random.default_rng(1).integers(0, 256, (90, 130, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("art") / "noise.png"
    Image.fromarray(pixels).save(path)
    return path


def artwork_mean(scores):
    """The README's step 4 for TILING: its whole view (the last tile) weighs 1 / (tiles_per_artwork + 1)."""
    share = 1 / (TILING.tiles_per_artwork + 1)
    return (1 - share) * scores[:-1].mean(axis=0) + share * scores[-1]


def test_exported_models_score_tiles_as_artcnn_classifies(tiny_model, artwork, tmp_path):
    events = []
    report = export_model(tiny_model, tmp_path / "out", images=[artwork], progress=events.append)
    assert report.max_difference <= 1e-3 and report.tiles > 12
    assert [e.done for e in events] == [0, 1, 2, 3, 4] and {e.what for e in events} == {"exporting"}
    described = json.loads(report.metadata.read_text())
    assert described["classes"] == ["han", "kom"] and described["tiling"] == to_dict(TILING)
    assert described["input"]["shape"] == [None, 48, 48, 3] and described["input"]["dtype"] == "uint8"
    assert described["decision"] == {"class_thresholds": {"han": 0.4, "kom": 0.4}}
    # Outside artcnn: cut the grid tiles and the whole view as the README says, score them, average them as the
    # export's "artwork" line says.
    tiles = np.stack([tile.pixels for tile in cut_tiles(load_artwork(artwork), TILING, grid=True,
                                                        max_tiles=256, keep_blank=True).tiles])
    assert described["artwork"].startswith("(0.909091 x the mean of its grid tiles' probabilities + 0.0909091 x its "
                                           "whole view's, the last tile when one was cut;")
    expected = next(classify(tiny_model, [artwork])).probabilities
    for scores in (score_saved_model(report.saved_model, tiles), score_tflite(report.tflite, tiles)):
        assert scores.shape == (len(tiles), 2)
        np.testing.assert_allclose(artwork_mean(scores), [expected["han"], expected["kom"]], atol=1e-4)


def test_an_export_that_scores_differently_is_refused_and_not_written(tmp_path, monkeypatch, capsys):
    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.full((3, 1), 4.0, dtype=np.float32), np.array([-6.0], dtype=np.float32)])
    path = save_model(model, tmp_path / "bright.keras", {"classes": ["han", "kom"], "tiling": to_dict(TILING)})
    real = exporting.resize_matrix
    # A resize that darkens: what a preprocessing mismatch does to an exported model.
    monkeypatch.setattr(exporting, "resize_matrix", lambda tile, size: 0.8 * real(tile, size))
    with pytest.raises(ValueError, match="differently from .*bright.keras.*over the tolerance of 0.001"):
        export_model(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["bright.keras"]
    # The command fails with the same words and a non-zero status.
    assert main(["export", str(path), str(tmp_path / "out")]) == 2
    assert "over the tolerance of 0.001" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_statistics_heads_verdict_can_be_rebuilt_from_the_export(artwork, tmp_path):
    from artcnn.image_statistics import NAMES, StatisticsHead, fit_head, image_statistics

    recipe = dataclasses.replace(get_recipe("default"), input_size=32)
    head = fit_head(np.random.default_rng(0).normal(size=(6, len(NAMES))), [0, 1] * 3, ["han", "kom"], weight=0.7)
    model = save_model(create_model(recipe, 2, weights=None, seed=3), tmp_path / "head.keras",
                       {"classes": ["han", "kom"], "input_size": 32, "tiling": to_dict(TILING),
                        "statistics": head.to_dict()})
    described = json.loads(export_model(model, tmp_path / "out", images=[artwork]).metadata.read_text())
    assert "0.3 x (0.909091 x the mean of its grid tiles' probabilities" in described["artwork"]
    assert ("the last tile when one was cut; the plain mean when there is no whole view or no grid tile) + 0.7 x"
            in described["artwork"])
    tiles = np.stack([tile.pixels for tile in cut_tiles(load_artwork(artwork), TILING, grid=True,
                                                        max_tiles=256, keep_blank=True).tiles])
    exported = StatisticsHead.from_metadata(described)
    rebuilt = exported.blend(artwork_mean(score_saved_model(tmp_path / "out" / "saved_model", tiles))[None],
                             image_statistics(load_artwork(artwork))[None])[0]
    expected = next(classify(model, [artwork])).probabilities
    np.testing.assert_allclose(rebuilt, [expected["han"], expected["kom"]], atol=1e-4)


def test_the_export_command_writes_the_models_and_their_metadata(tiny_model, artwork, tmp_path, capsys):
    assert main(["export", str(tiny_model), str(tmp_path / "out"), "--check-images", str(artwork)]) == 0
    assert "the largest difference from the original is" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["artcnn-export.json", "model.tflite",
                                                                    "saved_model"]
    check = json.loads((tmp_path / "out" / "artcnn-export.json").read_text())["check"]
    assert check["tiles"] > 12 and max(check["max_difference"].values()) <= 1e-3


def test_an_existing_folder_is_not_overwritten(tiny_model, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        export_model(tiny_model, tmp_path / "out")
