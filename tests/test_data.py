from pathlib import Path

import numpy as np
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")

from artcnn import data  # noqa: E402
from artcnn.config import TilingConfig  # noqa: E402
from builders import TILE, write_dataset  # noqa: E402


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return data.read_dataset(write_dataset(tmp_path_factory.mktemp("dataset")))


def decoded(files):
    return np.stack([np.asarray(Image.open(file).convert("RGB")) for file in files])


def images_and_targets(pipeline):
    batches = list(pipeline.as_numpy_iterator())
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def order_of(images, originals):
    """Which original each image is (they are random noise, so the nearest is the one)."""
    distances = np.abs(images[:, None] - originals[None]).mean(axis=(2, 3, 4))
    return distances.argmin(axis=1), distances.min(axis=1)


def test_read_dataset_sorts_classes_and_reads_description(dataset):
    assert dataset.classes == ["han", "kom"]
    assert len(dataset.manifest) == 24
    assert dataset.tiling == TilingConfig(tile_size=TILE)
    assert dataset.hash == "f" * 64
    assert dataset.synthetic is True


def test_read_dataset_names_folder_and_missing_tile(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path}.*dataset.json is missing"):
        data.read_dataset(tmp_path)
    root = write_dataset(tmp_path / "broken")
    (root / "train/han/han0_abcd1234_x1_y0.png").unlink()
    with pytest.raises(ValueError, match="1 tile file.*han0_abcd1234_x1_y0.png"):
        data.read_dataset(root)


def test_labels_for_uses_alphabetical_class_order(dataset):
    files, labels = data.labels_for(dataset, "train")
    assert len(files) == 16 and all(Path(f).is_file() for f in files)
    assert all(label == (0 if "/han/" in file else 1) for file, label in zip(files, labels))
    assert len(data.labels_for(dataset, "all")[0]) == 24
    assert len(data.labels_for(dataset, "test")[0]) == 8
    with pytest.raises(ValueError, match="split must be one of"):
        data.labels_for(dataset, "validation")


def test_preprocess_scales_and_resizes():
    images = np.zeros((2, 20, 20, 3), dtype=np.uint8)
    images[1] = 255
    out = data.preprocess(images, 16)
    assert out.dtype == tf.float32 and out.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(out[0], 0.0)
    np.testing.assert_allclose(out[1], 1.0, rtol=1e-6)
    assert data.preprocess(images[0], 40).shape == (40, 40, 3)
    with pytest.raises(ValueError, match="uint8 RGB"):
        data.preprocess(images.astype(np.float32), 16)


@pytest.mark.parametrize("side, input_size", [(64, 40), (64, 64), (24, 56)])
def test_model_inputs_equal_preprocess(side, input_size):
    tiles = list(np.random.default_rng(side + input_size).integers(0, 256, (3, side, side, 3), dtype=np.uint8))
    inputs = data.model_inputs(tiles, input_size)
    assert inputs.dtype == np.float32 and inputs.shape == (3, input_size, input_size, 3)
    np.testing.assert_allclose(inputs, data.preprocess(np.stack(tiles), input_size).numpy(), atol=2e-5)
    with pytest.raises(ValueError, match="uint8 RGB"):
        data.model_inputs([tiles[0][:, :, 0]], input_size)


def test_binary_labels_are_scalars_and_images_in_unit_range(dataset):
    files, labels = data.labels_for(dataset, "train")
    pipeline = data.make_pipeline(files, labels, 2, 24, 5, training=False)
    images, targets = images_and_targets(pipeline)
    assert images.shape == (16, 24, 24, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert targets.dtype == np.float32 and targets.shape == (16,)
    np.testing.assert_array_equal(targets, labels)
    assert [len(b[1]) for b in pipeline.as_numpy_iterator()] == [5, 5, 5, 1]


def test_more_classes_get_one_hot_labels(tmp_path):
    info = data.read_dataset(write_dataset(tmp_path, classes=("zeta", "alpha", "mid"), artworks=2, tiles=1))
    assert info.classes == ["alpha", "mid", "zeta"]
    files, labels = data.labels_for(info, "all")
    _, targets = images_and_targets(data.make_pipeline(files, labels, 3, TILE, 4, training=False))
    assert targets.shape == (6, 3)
    np.testing.assert_array_equal(targets.argmax(axis=1), labels)
    np.testing.assert_array_equal(targets.sum(axis=1), 1.0)


def test_evaluation_pipeline_is_plain_preprocessing_in_order(dataset):
    files, labels = data.labels_for(dataset, "test")
    images, _ = images_and_targets(data.make_pipeline(files, labels, 2, TILE, 3, training=False, rotation_deg=25.0,
                                                      extra_augment=True))
    np.testing.assert_allclose(images, data.preprocess(decoded(files), TILE).numpy(), atol=1e-6)


def test_tiles_are_brought_to_the_input_size_once_before_the_cache(dataset):
    # Cached at the model's input size as uint8 (a quarter of the memory for half the side): preprocess's values
    # rounded to whole grey levels.
    files, labels = data.labels_for(dataset, "test")
    exact = data.preprocess(decoded(files), TILE // 2).numpy()
    for cache in (True, False):
        images, _ = images_and_targets(data.make_pipeline(files, labels, 2, TILE // 2, 3, training=False, cache=cache))
        np.testing.assert_allclose(images, exact, atol=0.5 / 255 + 1e-6)
        np.testing.assert_allclose(images * 255, np.round(images * 255), atol=1e-3)
    assert np.abs(exact * 255 - np.round(exact * 255)).max() > 0.1


def test_augmentation_only_when_training(dataset):
    files, labels = data.labels_for(dataset, "train")
    originals = data.preprocess(decoded(files), TILE).numpy()
    shuffled, targets = images_and_targets(data.make_pipeline(files, labels, 2, TILE, 16, training=True))
    order, distance = order_of(shuffled, originals)
    assert sorted(order) == list(range(16)) and distance.max() < 1e-6  # only shuffled, unchanged
    np.testing.assert_array_equal(targets, labels[order])
    rotated, _ = images_and_targets(data.make_pipeline(files, labels, 2, TILE, 16, training=True,
                                                       rotation_deg=25.0, seed=1))
    assert order_of(rotated, originals)[1].min() > 0.01  # every tile rotated
    assert 0.0 <= rotated.min() and rotated.max() <= 1.0
    varied, _ = images_and_targets(data.make_pipeline(files, labels, 2, TILE, 16, training=True, extra_augment=True))
    assert order_of(varied, originals)[1].max() > 0.0  # flips, contrast and brightness change tiles
    assert 0.0 <= varied.min() and varied.max() <= 1.0


def test_degrade_shrinks_or_recompresses_some_training_tiles_only(dataset):
    files, labels = data.labels_for(dataset, "train")
    originals = data.preprocess(decoded(files), TILE).numpy()
    degraded, targets = images_and_targets(data.make_pipeline(files, labels, 2, TILE, 16, training=True, seed=2,
                                                              degrade=True))
    order, distance = order_of(degraded, originals)
    assert sorted(targets.tolist()) == sorted(labels.tolist())  # a strongly degraded tile may match another's
    # With two independent steps at even odds, some of 16 tiles are left alone and some are changed.
    assert (distance < 1e-6).any() and (distance > 1e-4).any()
    assert 0.0 <= degraded.min() and degraded.max() <= 1.0
    again, _ = images_and_targets(data.make_pipeline(files, labels, 2, TILE, 16, training=True, seed=2, degrade=True))
    np.testing.assert_array_equal(again, degraded)
    evaluated, _ = images_and_targets(data.make_pipeline(files, labels, 2, TILE, 16, training=False, degrade=True))
    np.testing.assert_allclose(evaluated, originals, atol=1e-6)


def test_reshuffles_each_epoch_reproducibly(dataset):
    files, labels = data.labels_for(dataset, "train")
    originals = data.preprocess(decoded(files), TILE).numpy()

    def epoch_orders(seed):
        pipeline = data.make_pipeline(files, labels, 2, TILE, 4, training=True, seed=seed)
        return [tuple(order_of(images_and_targets(pipeline)[0], originals)[0]) for _ in range(2)]

    first, second = epoch_orders(seed=3)
    assert first != second
    assert epoch_orders(seed=3) == [first, second]
    assert epoch_orders(seed=4)[0] != first


def test_make_pipeline_checks_arguments(dataset):
    files, labels = data.labels_for(dataset, "train")
    with pytest.raises(ValueError, match="same length"):
        data.make_pipeline(files, labels[:-1], 2, TILE, 4, training=False)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\]"):
        data.make_pipeline(files, labels + 1, 2, TILE, 4, training=False)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        data.make_pipeline(files, labels, 2, TILE, 0, training=False)
