"""tf.data pipelines from a dataset folder, and the one preprocessing every stage shares.

Training, evaluation and prediction all go through `preprocess` (prediction through `model_inputs`, its
equal for tiles in memory), so a model always sees pixels prepared the same way. TensorFlow is imported
inside the functions that need it. The dataset folder's format is `artcnn.dataset`'s; pages that only
show a dataset read `dataset.read_description`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from artcnn.dataset import SPLITS, Dataset, read_description, read_manifest

if TYPE_CHECKING:
    import tensorflow as tf

# Extra augmentation strengths (share of the [0, 1] range) for recipes with extra_augment.
CONTRAST_FACTOR = 0.1
BRIGHTNESS_FACTOR = 0.1
# Degradation augmentation (recipes with degrade): how often each of its two steps applies, the
# smallest share of the side a tile is shrunk to before it is enlarged back (a thumbnail blown up
# to tile size) and the JPEG quality range of a re-encoding. A work's verdict must not depend on
# the resolution or the compression its file happens to have.
DEGRADE_CHANCE = 0.5
DEGRADE_MIN_SCALE = 0.2
DEGRADE_JPEG_QUALITY = (30, 95)
# What labels_for takes: a split of the dataset, or both.
SELECTIONS = (*SPLITS, "all")


@dataclass(frozen=True, kw_only=True)
class DatasetInfo(Dataset):
    """A dataset's description with its checked manifest, for the stages that read its tiles."""

    # manifest.csv: one row per tile (dataset.MANIFEST_COLUMNS); every tile file exists.
    manifest: pd.DataFrame


def read_dataset(dataset_dir: str | os.PathLike) -> DatasetInfo:
    """Read and check a dataset folder: its description, manifest and that every listed tile exists."""
    description = read_description(dataset_dir)
    return DatasetInfo(**{item.name: getattr(description, item.name) for item in dataclasses.fields(description)},
                       manifest=read_manifest(description))


def split_rows(info: DatasetInfo, split: str) -> pd.DataFrame:
    """The manifest rows of one split, "train", "test" or "all" (train and test), in manifest order."""
    if split not in SELECTIONS:
        raise ValueError(f"split must be one of {', '.join(SELECTIONS)}. Received: split={split!r}")
    return info.manifest if split == "all" else info.manifest[info.manifest["split"] == split]


def labels_for(info: DatasetInfo, split: str) -> tuple[list[str], np.ndarray]:
    """Tile file paths and class indices of `split_rows(info, split)`, in the same order."""
    rows = split_rows(info, split)
    index_of = {name: index for index, name in enumerate(info.classes)}
    files = [str(info.path / tile) for tile in rows["tile"]]
    return files, rows["class"].map(index_of).to_numpy(dtype=np.int64)


def preprocess(images: Any, input_size: int) -> "tf.Tensor":
    """uint8 RGB images [..., H, W, 3] → float32 in [0, 1], resized to input_size × input_size."""
    import tensorflow as tf

    if input_size < 8:
        raise ValueError(f"input_size must be at least 8. Received: input_size={input_size}")
    images = tf.convert_to_tensor(images)
    # Unknown rank or channels (None) come from tf.data graphs and are checked when the data arrives.
    if images.dtype != tf.uint8 or images.shape.rank not in (3, 4, None) or images.shape[-1] not in (3, None):
        raise ValueError(
            f"preprocess expects uint8 RGB images of shape [H, W, 3] or [N, H, W, 3]. "
            f"Received: dtype={images.dtype.name}, shape={images.shape}"
        )
    scaled = tf.cast(images, tf.float32) / 255.0
    # Antialiasing keeps fine strokes from turning into moiré when a 256 px tile shrinks to 128.
    resized = tf.image.resize(scaled, (input_size, input_size), method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)


def model_inputs(tiles: Sequence[np.ndarray], input_size: int) -> np.ndarray:
    """`preprocess` for uint8 RGB tiles in memory, without TensorFlow: float32 [n, input_size, input_size, 3].

    Pillow's bilinear resize of float channels is the same triangle filter as `preprocess`'s antialiased one
    (equal within 1e-5), and it lets go of the GIL, so the reading threads prepare tiles while the model runs."""
    from PIL import Image

    if input_size < 8:
        raise ValueError(f"input_size must be at least 8. Received: input_size={input_size}")
    inputs = np.empty((len(tiles), input_size, input_size, 3), dtype=np.float32)
    for number, tile in enumerate(tiles):
        if tile.dtype != np.uint8 or tile.ndim != 3 or tile.shape[2] != 3:
            raise ValueError(f"model_inputs expects uint8 RGB tiles of shape [H, W, 3]. "
                             f"Received: dtype={tile.dtype}, shape={tile.shape}")
        scaled = tile.astype(np.float32) / 255.0
        for channel in range(3):
            plane = Image.fromarray(np.ascontiguousarray(scaled[:, :, channel]), mode="F")
            if plane.size != (input_size, input_size):
                plane = plane.resize((input_size, input_size), Image.Resampling.BILINEAR)
            inputs[number, :, :, channel] = np.asarray(plane)
    return inputs


def _augmenter(rotation_deg: float, extra_augment: bool, seed: int) -> Any | None:
    """The training-only augmentation as one Keras model applied to batches, or None for none."""
    import keras

    layers = []
    if rotation_deg > 0:
        # "nearest" repeats edge pixels into the corners, like the study's ImageDataGenerator.
        layers.append(keras.layers.RandomRotation(rotation_deg / 360.0, fill_mode="nearest", seed=seed))
    if extra_augment:
        layers += [
            keras.layers.RandomFlip("horizontal_and_vertical", seed=seed + 1),
            keras.layers.RandomContrast(CONTRAST_FACTOR, value_range=(0, 1), seed=seed + 2),
            keras.layers.RandomBrightness(BRIGHTNESS_FACTOR, value_range=(0, 1), seed=seed + 3),
        ]
    return keras.Sequential(layers) if layers else None


def _degrade(image: "tf.Tensor", label: "tf.Tensor", seed: "tf.Tensor") -> tuple["tf.Tensor", "tf.Tensor"]:
    """A uint8 tile as a smaller or more compressed file would give it: each step with DEGRADE_CHANCE,
    drawn from the stateless `seed` pair so that a seeded pipeline degrades the same way every run."""
    import tensorflow as tf

    draws = tf.random.stateless_uniform((4,), seed)
    size = tf.shape(image)[:2]

    def shrink() -> tf.Tensor:
        scale = DEGRADE_MIN_SCALE + (1.0 - DEGRADE_MIN_SCALE) * draws[1]
        small = tf.maximum(tf.cast(tf.cast(size, tf.float32) * scale, tf.int32), 4)
        reduced = tf.image.resize(image, small, method="area")
        return tf.cast(tf.clip_by_value(tf.round(tf.image.resize(reduced, size, method="bilinear")), 0, 255), tf.uint8)

    image = tf.cond(draws[0] < DEGRADE_CHANCE, shrink, lambda: image)
    low, high = DEGRADE_JPEG_QUALITY
    quality = low + tf.cast(draws[3] * (high - low + 1), tf.int32)
    image = tf.cond(draws[2] < DEGRADE_CHANCE, lambda: tf.image.adjust_jpeg_quality(image, quality), lambda: image)
    return tf.ensure_shape(image, [None, None, 3]), label


def make_pipeline(
    files: Sequence[str],
    labels: Sequence[int],
    num_classes: int,
    input_size: int,
    batch_size: int,
    *,
    training: bool,
    rotation_deg: float = 0.0,
    seed: int = 0,
    cache: bool = True,
    extra_augment: bool = False,
    degrade: bool = False,
) -> "tf.data.Dataset":
    """Batches of (images in [0, 1], labels) from PNG tiles.

    Labels are float32 0/1 scalars for two classes (one sigmoid unit) and one-hot rows for more
    (softmax). With training=True the tiles are reshuffled every epoch (reproducibly from `seed`)
    and augmented; otherwise they come in the given order, unchanged. `degrade` (training only) shrinks
    and re-enlarges some tiles and re-encodes some as JPEG at a random quality.
    """
    import tensorflow as tf

    labels = np.asarray(labels, dtype=np.int64)
    if len(files) == 0:
        raise ValueError("make_pipeline needs at least one tile file. Received: files=[]")
    if len(files) != len(labels):
        raise ValueError(f"files and labels must have the same length. Received: {len(files)} files, {len(labels)} labels")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2. Received: num_classes={num_classes}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes - 1}]. Received: labels from {labels.min()} to {labels.max()}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
    if not 0.0 <= rotation_deg <= 180.0:
        raise ValueError(f"rotation_deg must be in [0, 180]. Received: rotation_deg={rotation_deg}")

    # Degrading imitates a smaller file of the whole tile, so it needs every pixel; otherwise each tile is
    # preprocessed once, before the cache, rather than every epoch: the cache then holds a 128-px model's tiles in
    # a quarter of the memory, as uint8 (a rounding of at most half a grey level).
    preprocessed_once = not (training and degrade)

    def decode(file: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_png(tf.io.read_file(file), channels=3)
        if not preprocessed_once:
            return image, label
        return tf.cast(tf.round(preprocess(image, input_size) * 255.0), tf.uint8), label

    def prepare(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if num_classes == 2:
            target = tf.cast(label, tf.float32)
        else:
            target = tf.one_hot(label, num_classes, dtype=tf.float32)
        pixels = tf.cast(image, tf.float32) / 255.0 if preprocessed_once else preprocess(image, input_size)
        return pixels, target

    autotune = tf.data.AUTOTUNE
    dataset = tf.data.Dataset.from_tensor_slices((list(map(str, files)), labels))
    dataset = dataset.map(decode, num_parallel_calls=autotune)
    if cache:
        # uint8 tiles, so later epochs skip file reads, PNG decoding and (but for degrade) resizing.
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if training and degrade:
        # A seed pair per tile, new each epoch, so the degradation varies between epochs yet repeats per seed.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            lambda pair, tile_seed: _degrade(*pair, tile_seed), num_parallel_calls=autotune)
    dataset = dataset.map(prepare, num_parallel_calls=autotune).batch(batch_size)
    augmenter = _augmenter(rotation_deg, extra_augment, seed) if training else None
    if augmenter is not None:
        dataset = dataset.map(
            lambda images, targets: (tf.clip_by_value(augmenter(images, training=True), 0.0, 1.0), targets),
            num_parallel_calls=autotune,
        )
    return dataset.prefetch(autotune)
