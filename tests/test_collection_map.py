import numpy as np
import pytest

from artcnn.collection_map import (
    UMAP_MIN_ARTWORKS,
    collection_map,
    embed_artworks,
    layout,
    map_columns,
    nearest_neighbours,
    map_figure,
)
from artcnn.config import PredictConfig
from artcnn.image_statistics import NAMES, fit_head
from artcnn.prediction import classify
from artcnn.synthetic import generate_han, generate_kom

METADATA = {"classes": ["han", "kom"], "tiling": {"tile_size": 32}, "input_size": 32}
CONFIG = PredictConfig(batch_size=5)


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(6, activation="relu", name="embedding")(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="output")(x))


def collection(folder, count=6, broken=0):
    folder.mkdir(exist_ok=True)
    for index in range(count):
        generate = generate_han if index % 2 else generate_kom
        generate(np.random.default_rng(index), 70, 50).save(folder / f"art{index:02d}.png")
    for index in range(broken):
        (folder / f"broken{index}.png").write_bytes(b"not a picture")
    return folder


# A model trained with whole views on one random tile each: the whole view is half of an artwork's mean.
WHOLE_VIEW = {**METADATA, "tiling": {**METADATA["tiling"], "whole_view": True, "tiles_per_artwork": 1}}


# A model whose verdict blends in the picture's global statistics, as every `default` model's does.
WITH_HEAD = {**METADATA, "statistics": fit_head(np.random.default_rng(0).normal(size=(6, len(NAMES))), [0, 1] * 3,
                                                ["han", "kom"], weight=0.7).to_dict()}


@pytest.mark.parametrize("metadata", [METADATA, WHOLE_VIEW, WITH_HEAD], ids=["tiles", "whole view", "statistics"])
def test_embeddings_are_the_layer_before_the_output_averaged_in_the_same_pass_as_classify(tiny_model, tmp_path,
                                                                                          metadata):
    folder = collection(tmp_path / "art", count=4, broken=1)
    files, vectors, probabilities, errors = embed_artworks(tiny_model, metadata, [folder], CONFIG)

    assert len(files) == 4 and vectors.shape == (4, 6) and list(errors) == [str(folder / "broken0.png")]
    classified = [result for result in classify((tiny_model, metadata), [folder], CONFIG) if result.error is None]
    assert files == [result.file for result in classified]
    expected = np.array([[result.probabilities["han"], result.probabilities["kom"]] for result in classified])
    assert np.allclose(probabilities, expected, atol=1e-5)


def test_small_sets_are_laid_out_by_pca_and_one_artwork_is_refused():
    rng = np.random.default_rng(0)
    positions, method = layout(rng.normal(size=(UMAP_MIN_ARTWORKS - 1, 8)))
    assert method == "pca" and positions.shape == (UMAP_MIN_ARTWORKS - 1, 2)
    two, _ = layout(np.array([[0.0, 1.0], [1.0, 1.0]]))
    assert two.shape == (2, 2) and abs(two[0, 0] - two[1, 0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least two artworks"):
        layout(np.ones((1, 8)))


def test_the_map_is_cached_and_drawn_with_webgl(tiny_model, tmp_path, monkeypatch):
    folder = collection(tmp_path / "art")
    first = collection_map((tiny_model, METADATA), [folder], CONFIG, cache_dir=tmp_path / "maps",
                           key="classification-1")
    assert not first.cached and first.method == "pca" and list(first.table.columns) == map_columns(["han", "kom"])
    assert len(first.table) == 6

    import artcnn.collection_map as module
    monkeypatch.setattr(module, "embed_artworks", lambda *a, **k: pytest.fail("the cached map was recomputed"))
    again = collection_map((tiny_model, METADATA), [folder], CONFIG, cache_dir=tmp_path / "maps",
                           key="classification-1")
    assert again.cached and again.table.equals(first.table)

    # A map kept before the cache had a format (its probabilities were plain tile means) is made again.
    with np.load(tmp_path / "maps" / "classification-1.npz") as stored:
        older = {name: stored[name] for name in stored.files if name != "format"}
    np.savez(tmp_path / "maps" / "classification-1.npz", **older)
    monkeypatch.undo()
    remade = collection_map((tiny_model, METADATA), [folder], CONFIG, cache_dir=tmp_path / "maps",
                            key="classification-1")
    assert not remade.cached and remade.table.equals(first.table)

    figure = map_figure(again)
    assert {trace.type for trace in figure.data} == {"scattergl"}
    assert sum(len(trace.x) for trace in figure.data) == 6
    assert any("art00.png" in text for trace in figure.data for text in trace.customdata[:, 1])


def test_one_readable_artwork_and_errors_only_get_a_sentence(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="only .*art00.png could be classified"):
        collection_map((tiny_model, METADATA), [collection(tmp_path / "one", count=1, broken=1)], CONFIG)
    with pytest.raises(ValueError, match="none of the 2 artwork"):
        collection_map((tiny_model, METADATA), [collection(tmp_path / "none", count=0, broken=2)], CONFIG)


def test_without_umap_learn_a_large_set_falls_back_to_pca(monkeypatch):
    import artcnn.collection_map as module

    monkeypatch.setattr(module, "_has_umap", lambda: False)
    positions, method = layout(np.random.default_rng(1).normal(size=(UMAP_MIN_ARTWORKS + 5, 8)))
    assert method == "pca" and positions.shape == (UMAP_MIN_ARTWORKS + 5, 2)
    with pytest.raises(ValueError, match="method='tsne'"):
        layout(np.ones((3, 2)), "tsne")


def test_the_bench_reads_cached_embeddings_and_builds_the_figure(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench import collection_map as bench

    result = bench.benchmark(40, 16, tmp_path / "embeddings.npz", method="pca")
    assert result["points"] == 40 and result["method"] == "pca" and result["first_map_seconds"] > 0
    assert "a later map in the same process" in bench.report(result, "python bench/collection_map.py --count 40")


def test_a_sequential_model_like_the_studys_gives_its_embedding():
    import keras

    from artcnn.collection_map import embedding_model

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(3, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    vectors, outputs = embedding_model(model).predict_on_batch(np.zeros((2, 32, 32, 3), dtype=np.float32))
    assert vectors.shape == (2, 5) and outputs.shape == (2, 1)


def test_exact_neighbours_match_brute_force_in_blocks(monkeypatch):
    import artcnn.collection_map as module

    vectors = np.random.default_rng(2).normal(size=(60, 5))
    vectors[7] = vectors[3]
    monkeypatch.setattr(module, "NEIGHBOUR_BLOCK_VALUES", 60 * 7)
    indices, distances = nearest_neighbours(vectors, 4)
    brute = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    assert (indices[:, 0] == np.arange(60)).all() and indices[3, 1] == 7 and indices[7, 1] == 3
    assert np.allclose(distances, np.sort(brute, axis=1)[:, :4])
