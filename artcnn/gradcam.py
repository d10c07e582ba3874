"""Where the model looks: a Grad-CAM heat map of its last convolution for each tile of one artwork,
stitched back over the artwork, beside the tiles' probabilities.

The artwork is cut exactly as `prediction.classify` cuts it, so each map belongs to a tile the
verdict was made from. Every recipe is a chain of layers (the transfer backbone a chain inside the
chain), so the model is run layer by layer and the map is read after its last convolution.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from artcnn.config import PredictConfig

NO_CONVOLUTION = "this model has no convolution layer, so there is no map of where it looks"
# Layers that change a convolution's output value by value: the map is read after them, as the next
# layers see it (after its batch normalisation and ReLU).
_ELEMENTWISE = ("BatchNormalization", "ReLU", "Activation", "LeakyReLU")
# How much of the heat map's colour is laid over the artwork.
OVERLAY_OPACITY = 0.5


@dataclass(frozen=True)
class HeatMap:
    """One artwork's Grad-CAM."""

    file: str
    # The class whose evidence is mapped (default: the class of the artwork's verdict).
    target: str
    # [height, width] in [0, 1], over the picture the tiles were cut from (1 = where the model looks most).
    heat: np.ndarray
    # That picture with the heat map laid over it.
    overlay: Image.Image
    # (x, y, size, per-class probabilities) of each tile, as prediction.ArtworkResult.tile_boxes.
    tile_boxes: list[tuple[int, int, int, list[float]]]
    # The artwork's verdict probabilities, as prediction.classify gives them (with a statistics head, blended in).
    probabilities: dict[str, float]


def _layers(model: Any) -> list[Any]:
    """The model's layers in order, a model inside it (the transfer backbone) opened into its own layers."""
    import keras

    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        layers.extend(_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return layers


def _map_index(layers: list[Any]) -> int:
    """The position of the layer whose output is the map: the last convolution, or the elementwise
    layers right after it."""
    import keras

    convolutions = [index for index, layer in enumerate(layers) if isinstance(layer, keras.layers.Conv2D)]
    if not convolutions:
        raise ValueError(NO_CONVOLUTION)
    index = convolutions[-1]
    while index + 1 < len(layers) and type(layers[index + 1]).__name__ in _ELEMENTWISE:
        index += 1
    return index


def tile_maps(model: Any, tiles: Any, outputs: np.ndarray, class_index: int) -> np.ndarray:
    """Grad-CAM maps [n, h, w] (not yet scaled) of the class `class_index` for preprocessed tiles
    [n, size, size, 3] that the model scored as `outputs` (its own output, which the layer-by-layer run must match)."""
    import keras
    import tensorflow as tf

    layers = _layers(model)
    at = _map_index(layers)
    with tf.GradientTape() as tape:
        x = tf.convert_to_tensor(tiles)
        for index, layer in enumerate(layers[:-1]):
            x = layer(x, training=False)
            if index == at:
                tape.watch(x)
                features = x
        output = layers[-1]
        if isinstance(output, keras.layers.Dense):
            # Grad-CAM follows the score before the sigmoid/softmax: a saturated probability has no gradient.
            logits = tf.matmul(x, output.kernel) + (output.bias if output.use_bias else 0.0)
            probabilities = output.activation(logits)
        else:
            logits = probabilities = output(x, training=False)
        if logits.shape[-1] == 1:
            score = logits[:, 0] if class_index == 1 else -logits[:, 0]
        else:
            score = logits[:, class_index]
    if not np.allclose(probabilities.numpy(), outputs, atol=1e-4):
        raise ValueError(f"model {model.name} is not a chain of layers, so its convolution's map cannot be followed.")
    gradients = tape.gradient(score, features)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(weights * features, axis=-1)).numpy()


def heat_map(model: str | os.PathLike | tuple[Any, dict], artwork: str | os.PathLike,
             config: PredictConfig = PredictConfig(), *, target: str | None = None) -> HeatMap:
    """Grad-CAM of one artwork with a model file or a loaded (model, metadata) pair, for class `target`
    (default: the class of the model's verdict, as prediction.classify gives it). A ValueError says plainly when
    the model has no convolution or the file cannot be read."""
    from artcnn.data import preprocess
    from artcnn.evaluation import class_probabilities
    from artcnn.image_statistics import StatisticsHead
    from artcnn.prediction import artwork_result, model_tiling
    from artcnn.reading import read_for_tiles
    from artcnn.storage import load_model

    model, metadata = model if isinstance(model, tuple) else load_model(model)
    classes = list(metadata["classes"])
    if target is not None and target not in classes:
        raise ValueError(f"target must be one of the model's classes {', '.join(classes)}. Received: target={target!r}")
    _map_index(_layers(model))
    tiling = model_tiling(metadata)
    head = StatisticsHead.from_metadata(metadata)
    pending, tiles = read_for_tiles(0, Path(artwork), tiling, config, statistics=head is not None, keep_picture=True)
    if pending.error is not None:
        raise ValueError(f"{artwork}: {pending.error}")
    pixels = preprocess(np.stack(tiles), metadata.get("input_size") or model.input_shape[1] or tiling.tile_size)
    outputs = np.asarray(model(pixels, training=False))
    pending.tile_probabilities = list(class_probabilities(outputs, len(classes)))
    verdict = artwork_result(pending, classes, metadata, tiling, config.low_confidence, head)
    target = target or max(verdict.probabilities, key=verdict.probabilities.get)
    maps = tile_maps(model, pixels, outputs, classes.index(target))
    heat = _stitch(maps, pending.boxes, pending.picture.size)
    return HeatMap(file=str(artwork), target=target, heat=heat, overlay=overlay(pending.picture, heat),
                   tile_boxes=verdict.tile_boxes, probabilities=verdict.probabilities)


def _stitch(maps: np.ndarray, boxes: list[tuple[int, int, int]], size: tuple[int, int]) -> np.ndarray:
    """Tile maps resized onto their boxes of a picture of `size`, overlaps averaged, scaled to [0, 1]
    over the whole artwork so that tiles compare."""
    width, height = size
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for tile_map, (x, y, side) in zip(maps, boxes):
        resized = Image.fromarray(tile_map.astype(np.float32), mode="F").resize((side, side), Image.Resampling.BILINEAR)
        total[y:y + side, x:x + side] += np.asarray(resized)
        count[y:y + side, x:x + side] += 1
    heat = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    top = heat.max()
    return heat / top if top > 0 else heat


def overlay(image: Image.Image, heat: np.ndarray) -> Image.Image:
    """The heat map as colour (dark blue → red → yellow) over the picture."""
    colour = np.stack([np.clip(2 * heat, 0, 1), np.clip(2 * heat - 1, 0, 1), np.clip(0.6 - heat, 0, 1)], axis=-1)
    tinted = Image.fromarray((colour * 255).astype(np.uint8), "RGB")
    return Image.blend(image.convert("RGB"), tinted, OVERLAY_OPACITY)
