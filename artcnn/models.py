"""The model recipes, each registered once with its builder, defaults and description, and `create_model`.

`seed` is Martin Calvino's one-block VGG exactly; `vgg2`/`vgg3` are the deeper variants of the same
tutorial family; `vgg16` is transfer learning from ImageNet; `default` is our own compact CNN for
2 CPU cores. No model contains a Lambda layer, so every saved model loads in Keras's safe mode.

Keras is imported inside the builders only: config validation, the CLI's choices and the pages
list the recipes without loading TensorFlow.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    import keras

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

    # Recipe name (as registered).
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
    # Whether training augmentation is on at all (False sets rotation_deg 0, extra_augment and degrade False).
    augment: bool
    # Random flips and small contrast/brightness changes besides rotation.
    extra_augment: bool
    # Tiles shrunk and re-enlarged, or re-encoded as JPEG, at random (data.make_pipeline's degrade), so
    # that a thumbnail and a full scan of one work get one verdict.
    degrade: bool = False
    # Share of the artwork's global statistics (image_statistics.StatisticsHead) in its verdict, the rest
    # being the mean of its tiles; 0: the tiles alone.
    statistics_weight: float = 0.0
    # Synthetic hand-drawn line drawings (artcnn.counterpart) added to TrainConfig.drawn_class's training, this
    # many per artwork of that class; 0: none.
    drawn_ratio: float = 0.0
    # Synthetic pictures the statistics head alone learns from (artcnn.head_examples), per artwork of a class the
    # fit trains on: pen-and-ink drawings per artwork of TrainConfig.drawn_class, generative pictures per artwork
    # of TrainConfig.prior_class; 0: none.
    head_drawn_ratio: float = 0.0
    head_prior_ratio: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drawn_ratio", "head_drawn_ratio", "head_prior_ratio"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0. Received: {name}={getattr(self, name)}")
        if not 0.0 <= self.statistics_weight <= 1.0:
            raise ValueError(f"statistics_weight must be in [0, 1]. Received: statistics_weight={self.statistics_weight}")
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


# builder(inputs, recipe, seeds, weights) → the feature tensor that create_model puts the output layer on.
Builder = Callable[["keras.KerasTensor", Recipe, Iterator[int], "str | None"], "keras.KerasTensor"]


@dataclass(frozen=True)
class RegisteredRecipe:
    # The recipe's own values, which a TrainConfig's non-None fields override.
    defaults: Recipe
    # One line for people choosing a recipe (CLI help, the Train page).
    description: str
    builder: Builder
    # Whether the builder starts from pretrained weights (TrainConfig.weights), so forms ask for them.
    uses_weights: bool = False


_REGISTRY: dict[str, RegisteredRecipe] = {}


def register_recipe(name: str, description: str, uses_weights: bool = False,
                    **defaults: Any) -> Callable[[Builder], Builder]:
    """Decorator registering `builder` as recipe `name`; `defaults` are the other `Recipe` fields, and
    `uses_weights` says the builder reads TrainConfig.weights. From then on the name is valid in
    TrainConfig, offered by the CLI and the Train page."""
    def register(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"a recipe named {name!r} is registered already.")
        _REGISTRY[name] = RegisteredRecipe(Recipe(name=name, **defaults), description, builder, uses_weights)
        return builder
    return register


def list_recipes() -> list[str]:
    """Registered recipe names, in registration order (`default` first)."""
    return list(_REGISTRY)


def recipe_descriptions() -> dict[str, str]:
    """Recipe name → its one-line description, in registration order."""
    return {name: entry.description for name, entry in _REGISTRY.items()}


def uses_weights(name: str) -> bool:
    """Whether recipe `name` starts from pretrained weights (TrainConfig.weights)."""
    get_recipe(name)
    return _REGISTRY[name].uses_weights


def get_recipe(name: str) -> Recipe:
    """A registered recipe's own values."""
    if name not in _REGISTRY:
        raise ValueError(f"recipe must be one of {', '.join(_REGISTRY)}. Received: recipe={name!r}")
    return _REGISTRY[name].defaults


def resolve_recipe(config: "TrainConfig") -> Recipe:
    """The config's recipe with the config's choices applied: its non-None numbers, dropout and augment."""
    overrides = {name: getattr(config, name) for name in ("input_size", "epochs", "batch_size", "test_batch_size",
                                                          "learning_rate", "statistics_weight",
                                                          "drawn_ratio")
                 if getattr(config, name) is not None}
    overrides.update(dropout=config.dropout, augment=config.augment)
    if not config.augment:
        overrides.update(rotation_deg=0.0, extra_augment=False, degrade=False)
    return dataclasses.replace(get_recipe(config.recipe), **overrides)


def create_model(recipe: Recipe | str, num_classes: int = 2, *, weights: str | None = None, seed: int = 0,
                 mixed_precision: bool = False) -> "keras.Model":
    """A compiled model for `recipe` (a Recipe or a registered name) taking [batch, input_size, input_size, 3]
    images in [0, 1].

    Two classes get one sigmoid unit (binary cross-entropy, as in the study), more get a softmax.
    `weights` only matters for vgg16: "imagenet", a local weights file, or None for random.
    `seed` fixes the initial weights of our layers (vgg16's own base follows Keras's global seed).
    `mixed_precision` computes in bfloat16 (see in_bfloat16).
    """
    import keras

    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2. Received: num_classes={num_classes}")
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    get_recipe(recipe.name)  # a Recipe built by hand must still name a registered builder
    builder = _REGISTRY[recipe.name].builder
    seeds = itertools.count(seed)
    inputs = keras.Input((recipe.input_size, recipe.input_size, 3), name="tiles")
    features = builder(inputs, recipe, seeds, weights)
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
    return in_bfloat16(model) if mixed_precision else model


def in_bfloat16(model: "keras.Model") -> "keras.Model":
    """A copy of a compiled model that computes in bfloat16 with float32 weights ("mixed_bfloat16"), with
    the same weights and compile settings. The output layer stays float32, so probabilities and the loss
    keep full precision. A saved copy reloads in the same precision.
    """
    import keras

    output = model.layers[-1].name

    def clone(layer: "keras.layers.Layer") -> "keras.layers.Layer":
        config = layer.get_config()
        if layer.name != output:
            config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    copy.compile_from_config(model.get_compile_config())
    return copy


def _he(seeds: Iterator[int]) -> "keras.initializers.Initializer":
    import keras

    return keras.initializers.HeUniform(seed=next(seeds))


_STUDY = dict(epochs=20, batch_size=64, test_batch_size=32, optimizer="sgd", learning_rate=0.001, momentum=0.9,
              rotation_deg=25.0, dropout=True, augment=True, extra_augment=False)


# 4 epochs: on unseen artists 4 scored as 8 did (README), the test tile accuracy is flat after the first, and the
# whole dev set then trains within the 20-minute budget on 2 cores.
_COMPACT = dict(input_size=128, epochs=4, batch_size=32, test_batch_size=64, optimizer="adam", learning_rate=0.001,
                momentum=0.0, rotation_deg=25.0, dropout=True, augment=True, extra_augment=True)


# statistics_weight 0.9: the tiles add little the statistics do not know, for artists a model has seen and for those it
# has not (README, "Results on real art": 0.7 left a source below 80% with every source held out alone; 1.0, the
# head alone, did about as well as 0.9); the tiles keep a say and settle an artwork the statistics leave near even.
# drawn_ratio 0.25 (about 200 drawings for the dev set's 870 hand-made artworks): the drawings' measured setting;
# the head's ink drawings 0.25 and generative pictures 0.1: 0.15 ink drawings left the pencil drawings one artwork
# short of 80% as thumbnails in one seed, 0.05 or 0.25 generative pictures a source below 80% as thumbnails.
_WITH_STATISTICS_AND_DRAWINGS = dict(statistics_weight=0.9, drawn_ratio=0.25, head_drawn_ratio=0.25,
                                     head_prior_ratio=0.1)


@register_recipe("default", "compact CNN with the artwork's global statistics and synthetic hand drawings, quick "
                 "on CPUs", **_COMPACT, **_WITH_STATISTICS_AND_DRAWINGS)
def _compact_features(inputs: "keras.KerasTensor", recipe: Recipe, seeds: Iterator[int],
                      weights: str | None) -> "keras.KerasTensor":
    import keras

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


def _vgg_features(blocks: int) -> Builder:
    """The VGG tutorial family's builder with `blocks` Conv-MaxPool-Dropout blocks and the dense head."""
    def build(inputs: "keras.KerasTensor", recipe: Recipe, seeds: Iterator[int],
              weights: str | None) -> "keras.KerasTensor":
        import keras

        x = inputs
        for index, (width, rate) in enumerate(zip(VGG_WIDTHS[:blocks], VGG_BLOCK_DROPOUT), start=1):
            x = keras.layers.Conv2D(width, 3, activation="relu", padding="same", kernel_initializer=_he(seeds),
                                    name=f"block{index}_conv")(x)
            x = keras.layers.MaxPooling2D(2, name=f"block{index}_pool")(x)
            if recipe.dropout:
                x = keras.layers.Dropout(rate, seed=next(seeds), name=f"block{index}_dropout")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        return _dense_head(x, recipe, seeds)
    return build


# Measured beside `default` by bench/unseen_artists.py ("default + degrade"): no better on unseen artists, as files
# or as thumbnails (README), so not the default.
register_recipe("robust", "`default` trained on shrunk and re-compressed tiles too, meant for thumbnails",
                **_COMPACT, **_WITH_STATISTICS_AND_DRAWINGS, degrade=True)(_compact_features)
register_recipe("seed", "the study's one-block VGG", input_size=200, **_STUDY)(_vgg_features(1))
register_recipe("vgg2", "2 VGG blocks", input_size=200, **_STUDY)(_vgg_features(2))
register_recipe("vgg3", "3 VGG blocks", input_size=200, **_STUDY)(_vgg_features(3))


def _dense_head(x: "keras.KerasTensor", recipe: Recipe, seeds: Iterator[int]) -> "keras.KerasTensor":
    import keras

    x = keras.layers.Dense(VGG_DENSE_UNITS, activation="relu", kernel_initializer=_he(seeds), name="dense")(x)
    if recipe.dropout:
        x = keras.layers.Dropout(VGG_DENSE_DROPOUT, seed=next(seeds), name="dense_dropout")(x)
    return x


@register_recipe("vgg16", "VGG16 transfer learning (ImageNet weights)", uses_weights=True, input_size=224,
                 **{**_STUDY, "epochs": 10, "batch_size": 32})
def _vgg16_features(inputs: "keras.KerasTensor", recipe: Recipe, seeds: Iterator[int],
                    weights: str | None) -> "keras.KerasTensor":
    import keras
    import numpy as np

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
