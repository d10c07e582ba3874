"""Models out: a TensorFlow SavedModel and a TFLite file that score tiles exactly as artcnn does, with
the tiling and class metadata beside them, checked against the original before they are kept.

Exported models elsewhere (Teachable Machine's, Lobe's) predict differently from their app because
users preprocess differently. So the export takes what artcnn's tiles are before preprocessing —
uint8 RGB tiles of `tile_size` — and carries the preprocessing inside the graph: scaling to [0, 1] and
the antialiased bilinear resize to the model's input size. TFLite has no antialiased resize
operation; that resize is linear and separable, so it is written as two fixed matrix products (the
matrix is the resize applied to unit vectors), which TFLite runs natively. The output is one
probability per class, a one-unit sigmoid model's p turned into [1 - p, p] as artcnn reads it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artcnn.config import TilingConfig, to_dict
from artcnn.evaluation import whole_view_share
from artcnn.image_statistics import StatisticsHead
from artcnn.images import load_artwork, sha256_file
from artcnn.prediction import model_tiling
from artcnn.progress import ProgressCallback, emit

# Largest difference in any probability between the exported models and the original that is accepted.
TOLERANCE = 1e-3
SAVED_MODEL = "saved_model"
TFLITE_FILE = "model.tflite"
METADATA_FILE = "artcnn-export.json"
# Calibration keys (prediction.decide reads them) copied beside the export, so verdicts can be decided alike.
DECISION_KEYS = ("class_thresholds", "threshold", "review_band")


@dataclass(frozen=True)
class ExportReport:
    saved_model: Path
    tflite: Path
    metadata: Path
    # Tiles scored by the original and both exported models.
    tiles: int
    # Largest difference found in any probability.
    max_difference: float


def resize_matrix(tile_size: int, input_size: int) -> np.ndarray:
    """The [input_size, tile_size] matrix A for which A @ column equals data.preprocess's antialiased
    bilinear resize of that column; an image is resized as A @ image @ A.T."""
    import tensorflow as tf

    unit_columns = np.eye(tile_size, dtype=np.float32).reshape(tile_size, tile_size, 1, 1)
    resized = tf.image.resize(unit_columns, (input_size, 1), method="bilinear", antialias=True)
    return resized.numpy().reshape(tile_size, input_size).T


def check_tiles(tiling: TilingConfig, images: Sequence[str | os.PathLike] = (), seed: int = 0) -> np.ndarray:
    """uint8 tiles to compare the models on: grid tiles of `images` cut as classify cuts them, then
    seeded noise, smooth gradients and flat tiles (which exercise the resize and the clipping)."""
    from artcnn.tiling import cut_tiles

    side = tiling.tile_size
    tiles = [tile.pixels for path in images
             for tile in cut_tiles(load_artwork(path, tiling.limits), tiling, grid=True, max_tiles=16,
                                   keep_blank=True).tiles]
    rng = np.random.default_rng(seed)
    tiles += list(rng.integers(0, 256, (8, side, side, 3), dtype=np.uint8))
    across, down = np.meshgrid(np.linspace(0, 255, side), np.linspace(0, 255, side))
    tiles += [np.stack([across, down, 255 - across], axis=-1).astype(np.uint8)]
    tiles += [np.full((side, side, 3), value, dtype=np.uint8) for value in (0, 128, 255)]
    return np.stack(tiles)


def _serving_function(model: Any, tile_size: int, input_size: int, n_classes: int):
    import tensorflow as tf

    matrix = tf.constant(resize_matrix(tile_size, input_size))

    def serve(tiles):
        pixels = tf.transpose(tf.cast(tiles, tf.float32) / 255.0, [0, 3, 1, 2])  # [n, channel, row, column]
        resized = tf.matmul(tf.matmul(matrix, pixels), matrix, transpose_b=True)
        scaled = tf.clip_by_value(tf.transpose(resized, [0, 2, 3, 1]), 0.0, 1.0)
        outputs = tf.cast(model(scaled, training=False), tf.float32)
        if outputs.shape[-1] == 1 and n_classes == 2:
            outputs = tf.concat([1.0 - outputs, outputs], axis=-1)
        return {"probabilities": outputs}

    return serve


def _write_models(model: Any, folder: Path, tile_size: int, input_size: int, n_classes: int) -> None:
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serving_default", fn=_serving_function(model, tile_size, input_size, n_classes),
                         input_signature=[tf.TensorSpec([None, tile_size, tile_size, 3], tf.uint8, name="tiles")])
    archive.write_out(str(folder / SAVED_MODEL), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(folder / SAVED_MODEL))
    (folder / TFLITE_FILE).write_bytes(converter.convert())


def score_saved_model(folder: str | os.PathLike, tiles: np.ndarray) -> np.ndarray:
    """Probabilities [n, classes] from an exported SavedModel, as any TensorFlow program gets them."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    return serve(tiles=tf.constant(tiles, dtype=tf.uint8))["probabilities"].numpy()


def score_tflite(path: str | os.PathLike, tiles: np.ndarray) -> np.ndarray:
    """Probabilities [n, classes] from an exported TFLite file, as a TFLite interpreter gets them."""
    import tensorflow as tf

    with warnings.catch_warnings():
        # TensorFlow's interpreter warns that it moves to the ai_edge_litert package; it still runs the file alike.
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], list(tiles.shape))
    interpreter.allocate_tensors()
    return interpreter.get_signature_runner()(tiles=tiles.astype(np.uint8))["probabilities"]


def _artwork_verdict(head: StatisticsHead | None, tiling: TilingConfig) -> str:
    tiles = "the mean of its tiles' probabilities"
    share = whole_view_share(tiling)
    if share is not None:
        tiles = (f"({1 - share:g} x the mean of its grid tiles' probabilities + {share:g} x its whole view's, the "
                 "last tile when one was cut; the plain mean when there is no whole view or no grid tile)")
    if head is None:
        return tiles
    weight = head.weight
    return (f"{1 - weight:g} x {tiles} + {weight:g} x the 'statistics' head's: "
            "softmax([(s - mean) / scale, 1] @ coefficients), s being the head's 'names' statistics of "
            "artcnn.image_statistics.image_statistics of the whole artwork (Python, numpy and Pillow; not inside "
            "the exported models)")


def _description(metadata: dict, tiling: TilingConfig, input_size: int, source: Path, report: dict) -> dict:
    classes = list(metadata["classes"])
    head = StatisticsHead.from_metadata(metadata)
    return {
        "classes": classes,
        "input": {"name": "tiles", "dtype": "uint8", "shape": [None, tiling.tile_size, tiling.tile_size, 3],
                  "meaning": "RGB tiles cut from the artwork as 'tiling' says, pixel values 0-255"},
        "output": {"name": "probabilities", "dtype": "float32", "shape": [None, len(classes)],
                   "meaning": f"one probability per class, in the order {classes}"},
        "preprocessing_inside": f"x / 255, antialiased bilinear resize to {input_size}x{input_size}, clip to [0, 1]",
        "artwork": _artwork_verdict(head, tiling),
        **({"statistics": head.to_dict()} if head is not None else {}),
        "tiling": to_dict(tiling),
        "input_size": input_size,
        "decision": {key: metadata[key] for key in DECISION_KEYS if key in metadata},
        "source_model": {"file": source.name, "sha256": sha256_file(source), "recipe": metadata.get("recipe"),
                         "synthetic": metadata.get("synthetic", False), "description": metadata.get("description")},
        "check": report,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def export_model(model_path: str | os.PathLike, out: str | os.PathLike, *, images: Sequence[str | os.PathLike] = (),
                 tolerance: float = TOLERANCE, safe_mode: bool = True,
                 progress: ProgressCallback | None = None) -> ExportReport:
    """Write OUT/saved_model/, OUT/model.tflite and OUT/artcnn-export.json for a model file, after scoring
    the same tiles (check_tiles, of `images` if given) with the original and both exports: if any
    probability differs by more than `tolerance`, ValueError and OUT is not written."""
    from artcnn.data import preprocess
    from artcnn.evaluation import class_probabilities
    from artcnn.storage import load_model

    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be in (0, 1). Received: tolerance={tolerance}")
    source, out = Path(model_path), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} already exists and is not an empty folder; choose a new folder for the export.")
    emit(progress, "exporting", 0, 4, "loading the model")
    model, metadata = load_model(source, safe_mode=safe_mode)
    tiling, classes = model_tiling(metadata), list(metadata["classes"])
    input_size = int(metadata.get("input_size") or tiling.tile_size)
    building = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    building.mkdir(parents=True)
    try:
        emit(progress, "exporting", 1, 4, "writing the SavedModel and the TFLite file")
        _write_models(model, building, tiling.tile_size, input_size, len(classes))
        emit(progress, "exporting", 2, 4, "scoring the same tiles with the original and the exports")
        tiles = check_tiles(tiling, images)
        original = class_probabilities(model.predict_on_batch(preprocess(tiles, input_size)), len(classes))
        differences = {"SavedModel": np.abs(score_saved_model(building / SAVED_MODEL, tiles) - original).max(),
                       "TFLite": np.abs(score_tflite(building / TFLITE_FILE, tiles) - original).max()}
        worst = max(differences, key=differences.get)
        if differences[worst] > tolerance:
            raise ValueError(f"the exported {worst} model scores {len(tiles)} check tiles differently from {source}: "
                             f"a probability differs by {differences[worst]:.2g}, over the tolerance of {tolerance:g}. "
                             f"Nothing was written to {out}.")
        report = {"tiles": len(tiles), "tolerance": tolerance,
                  "max_difference": {name: float(value) for name, value in differences.items()}}
        emit(progress, "exporting", 3, 4, "writing the metadata")
        (building / METADATA_FILE).write_text(
            json.dumps(_description(metadata, tiling, input_size, source, report), indent=2) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    emit(progress, "exporting", 4, 4, f"written to {out}")
    return ExportReport(saved_model=out / SAVED_MODEL, tflite=out / TFLITE_FILE, metadata=out / METADATA_FILE,
                        tiles=len(tiles), max_difference=float(differences[worst]))
