"""Named model recipes and `build_model`, which turns a recipe into a compiled Keras model.

`seed` is Martin Calvino's one-block VGG exactly; `vgg2`/`vgg3` are the deeper variants of the same
tutorial family; `vgg16` is transfer learning from ImageNet; `default` is our own compact CNN for
2 CPU cores. No model contains a Lambda layer, so every saved model loads in Keras's safe mode.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass
from typing import Iterator

import keras
import numpy as np

from artcnn.config import TrainConfig

OPTIMIZERS = ("sgd", "adam")
# The `default` architecture, all in one place for tuning: filters per Conv-BN-ReLU-MaxPool block
# (each block halves the side, so 5 blocks take 128 px to 4 px) and the dropout before the output.
DEFAULT_WIDTHS = (16, 32, 64, 128, 128)
DEFAULT_HEAD_DROPOUT = 0.3
# Keras's 0.99 needs thousands of steps before the moving statistics match the data; a user's first
# run on a few dozen artworks has tens of steps, and its test accuracy sat at chance with 0.99.
DEFAULT_BN_MOMENTUM = 0.9
# VGG tutorial family: filters and dropout rate of each block, then the dense head.
VGG_WIDTHS = (32, 64, 128)
VGG_BLOCK_DROPOUT = (0.2, 0.3, 0.4)
VGG_DENSE_UNITS = 128
VGG_DENSE_DROPOUT = 0.5
# keras.applications.vgg16.preprocess_input ("caffe" mode): RGB → BGR, 0-255, minus the ImageNet means.
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)
VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


@dataclass(frozen=True)
class Recipe:
    """Everything that defines how a model is built and trained, besides the data."""

    # Recipe name (a key of RECIPES).
    name: str
    # Side in pixels of the square input; tiles are resized to it by data.preprocess.
    input_size: int
    # Training epochs.
    epochs: int
    # Training batch size.
    batch_size: int
    # Batch size for validation and evaluation.
    test_batch_size: int
    # "sgd" or "adam".
    optimizer: str
    # Optimizer learning rate.
    learning_rate: float
    # SGD momentum (ignored by adam).
    momentum: float
    # Largest random rotation in degrees during training; 0 for none.
    rotation_deg: float
    # Whether the architecture's dropout layers are present.
    dropout: bool
    # Whether training augmentation is on at all (False sets rotation_deg 0 and extra_augment False).
    augment: bool
    # Random flips and small contrast/brightness changes besides rotation.
    extra_augment: bool

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}. Received: optimizer={self.optimizer!r}")
        if self.input_size < 32:
            raise ValueError(f"input_size must be at least 32. Received: input_size={self.input_size}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive. Received: learning_rate={self.learning_rate}")
        if not 0.0 <= self.rotation_deg <= 180.0:
            raise ValueError(f"rotation_deg must be in [0, 180]. Received: rotation_deg={self.rotation_deg}")
        for name in ("epochs", "batch_size", "test_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Received: {name}={getattr(self, name)}")


_STUDY = dict(epochs=20, batch_size=64, test_batch_size=32, optimizer="sgd", learning_rate=0.001, momentum=0.9,
              rotation_deg=25.0, dropout=True, augment=True, extra_augment=False)
RECIPES: dict[str, Recipe] = {
    "default": Recipe("default", input_size=128, epochs=30, batch_size=32, test_batch_size=64, optimizer="adam",
                      learning_rate=0.001, momentum=0.0, rotation_deg=25.0, dropout=True, augment=True,
                      extra_augment=True),
    "seed": Recipe("seed", input_size=200, **_STUDY),
    "vgg2": Recipe("vgg2", input_size=200, **_STUDY),
    "vgg3": Recipe("vgg3", input_size=200, **_STUDY),
    "vgg16": Recipe("vgg16", input_size=224, **{**_STUDY, "epochs": 10, "batch_size": 32}),
}


def resolve_recipe(config: TrainConfig) -> Recipe:
    """The config's recipe with the config's choices applied: its non-None numbers, dropout and augment."""
    recipe = RECIPES[config.recipe]
    overrides = {name: getattr(config, name) for name in ("epochs", "batch_size", "test_batch_size", "learning_rate")
                 if getattr(config, name) is not None}
    overrides.update(dropout=config.dropout, augment=config.augment)
    if not config.augment:
        overrides.update(rotation_deg=0.0, extra_augment=False)
    return dataclasses.replace(recipe, **overrides)


def build_model(recipe: Recipe, num_classes: int = 2, *, weights: str | None = None, seed: int = 0) -> keras.Model:
    """A compiled model for `recipe` taking [batch, input_size, input_size, 3] images in [0, 1].

    Two classes get one sigmoid unit (binary cross-entropy, as in the study), more get a softmax.
    `weights` only matters for vgg16: "imagenet", a local weights file, or None for random.
    `seed` fixes the initial weights of our layers (vgg16's own base follows Keras's global seed).
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2. Received: num_classes={num_classes}")
    seeds = itertools.count(seed)
    inputs = keras.Input((recipe.input_size, recipe.input_size, 3), name="tiles")
    if recipe.name == "default":
        features = _compact_features(inputs, recipe, seeds)
    elif recipe.name in ("seed", "vgg2", "vgg3"):
        blocks = {"seed": 1, "vgg2": 2, "vgg3": 3}[recipe.name]
        features = _vgg_features(inputs, blocks, recipe, seeds)
    elif recipe.name == "vgg16":
        features = _vgg16_features(inputs, recipe, weights, seeds)
    else:
        raise ValueError(f"recipe name must be one of {', '.join(RECIPES)}. Received: name={recipe.name!r}")
    binary = num_classes == 2
    outputs = keras.layers.Dense(
        1 if binary else num_classes, activation="sigmoid" if binary else "softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)), name="output",
    )(features)
    model = keras.Model(inputs, outputs, name=recipe.name)
    if recipe.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=recipe.learning_rate, momentum=recipe.momentum)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=recipe.learning_rate)
    model.compile(optimizer=optimizer, loss="binary_crossentropy" if binary else "categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _he(seeds: Iterator[int]) -> keras.initializers.Initializer:
    return keras.initializers.HeUniform(seed=next(seeds))


def _compact_features(inputs: keras.KerasTensor, recipe: Recipe, seeds: Iterator[int]) -> keras.KerasTensor:
    x = inputs
    for index, width in enumerate(DEFAULT_WIDTHS, start=1):
        # No bias: batch normalisation's offset does its job.
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=_he(seeds),
                                name=f"block{index}_conv")(x)
        x = keras.layers.BatchNormalization(momentum=DEFAULT_BN_MOMENTUM, name=f"block{index}_bn")(x)
        x = keras.layers.ReLU(name=f"block{index}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{index}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if recipe.dropout:
        x = keras.layers.Dropout(DEFAULT_HEAD_DROPOUT, seed=next(seeds), name="head_dropout")(x)
    return x


def _vgg_features(inputs: keras.KerasTensor, blocks: int, recipe: Recipe, seeds: Iterator[int]) -> keras.KerasTensor:
    x = inputs
    for index, (width, rate) in enumerate(zip(VGG_WIDTHS[:blocks], VGG_BLOCK_DROPOUT), start=1):
        x = keras.layers.Conv2D(width, 3, activation="relu", padding="same", kernel_initializer=_he(seeds),
                                name=f"block{index}_conv")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{index}_pool")(x)
        if recipe.dropout:
            x = keras.layers.Dropout(rate, seed=next(seeds), name=f"block{index}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return _dense_head(x, recipe, seeds)


def _dense_head(x: keras.KerasTensor, recipe: Recipe, seeds: Iterator[int]) -> keras.KerasTensor:
    x = keras.layers.Dense(VGG_DENSE_UNITS, activation="relu", kernel_initializer=_he(seeds), name="dense")(x)
    if recipe.dropout:
        x = keras.layers.Dropout(VGG_DENSE_DROPOUT, seed=next(seeds), name="dense_dropout")(x)
    return x


def _vgg16_features(inputs: keras.KerasTensor, recipe: Recipe, weights: str | None,
                    seeds: Iterator[int]) -> keras.KerasTensor:
    if weights not in (None, "imagenet") and not os.path.isfile(weights):
        raise ValueError(f"VGG16 weights file not found: {weights}. Pass an existing {VGG16_NOTOP_FILE}-style "
                         "file, weights='imagenet' or weights=None.")
    shape = (recipe.input_size, recipe.input_size, 3)
    try:
        base = keras.applications.VGG16(include_top=False, weights=weights, input_shape=shape)
    except Exception as error:
        if weights == "imagenet":
            raise ValueError(
                f"could not get the ImageNet weights for VGG16 ({type(error).__name__}: {error}). Without "
                f"internet, copy {VGG16_NOTOP_FILE} to ~/.keras/models/ or pass its path as weights."
            ) from None
        raise ValueError(f"could not load VGG16 weights from {weights} ({type(error).__name__}: {error}).") from None
    base.trainable = False
    # preprocess_input as a fixed 1×1 convolution (a Lambda would be refused by safe-mode loading):
    # output channel c = 255 · input channel (2 − c) − mean[c].
    caffe = keras.layers.Conv2D(3, 1, trainable=False, name="vgg16_preprocess")
    x = caffe(inputs)
    caffe.set_weights([255.0 * np.eye(3, dtype="float32")[::-1].reshape(1, 1, 3, 3),
                       -np.asarray(IMAGENET_BGR_MEAN, dtype="float32")])
    # training=False keeps the frozen base in inference mode even while the head trains.
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return _dense_head(x, recipe, seeds)
