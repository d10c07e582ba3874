"""Classifying whole artworks: every artwork is cut into a grid of tiles, the model scores each
tile, and the artwork's probabilities are the mean of its tiles'.

Collections run to tens of thousands of files, so everything streams: files are read one at a
time in a tf.data producer thread while the model scores the previous batch, batches mix tiles of
several artworks, and each result is yielded (in input order) as soon as its last tile is scored.
A file that cannot be read yields a result with `error` set instead of stopping the run. Given a
catalogue, the classification and each result are recorded there the moment they exist, so one run
from a page or the CLI is kept alike (and survives a restart mid-run).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from artcnn.calibration import prediction_sets
from artcnn.config import PredictConfig, TilingConfig, from_dict
from artcnn.duplicates import DuplicateFinder, perceptual_hash
from artcnn.evaluation import class_probabilities
from artcnn.images import ArtworkError, check_inputs, iter_image_files, read_artwork, sha256_file
from artcnn.progress import ProgressCallback, emit

if TYPE_CHECKING:
    from artcnn.catalogue import Catalogue

NEEDS_REVIEW = "needs review"


@dataclass(frozen=True)
class ArtworkResult:
    """One artwork's verdict, or the reason it has none (`error`)."""

    file: str
    sha256: str | None
    # Size of the file's own picture (upright).
    width: int | None
    height: int | None
    tiles: int
    probabilities: dict[str, float]
    label: str | None
    # Probability of the label's class (of the likelier class for "needs review").
    confidence: float | None
    error: str | None = None
    # (x, y, size, per-class probabilities) of each tile, in the coordinates of the picture used (used_width ×
    # used_height).
    tile_boxes: list[tuple[int, int, int, list[float]]] = field(default_factory=list)
    # Worth a person's look: the label is "needs review", or its probability is below
    # PredictConfig.low_confidence. False for an unreadable file (its `error` says why).
    review: bool = False
    # Columns from where the artwork came from (a IIIF canvas, a collection record), carried to the CSV.
    details: dict[str, str] = field(default_factory=dict)
    # Size of the picture the tiles were cut from: width × height unless it was reduced (see `note`).
    used_width: int | None = None
    used_height: int | None = None
    # What reading the file changed, in plain words (a picture reduced to stay within the decode limit), or "".
    note: str = ""
    # The file of an earlier artwork of the same classification this one repeats (duplicates.DuplicateFinder).
    duplicate_of: str | None = None


class Classification(Iterator[ArtworkResult]):
    """The results of one `classify` call as they stream, in input order."""

    def __init__(self, results: Iterator[ArtworkResult], record: int | None):
        self._results = results
        # The classification's id in the catalogue it is recorded in, or None when it is not recorded.
        self.record = record

    def __next__(self) -> ArtworkResult:
        return next(self._results)


@dataclass
class _Pending:
    """An artwork between reading and its last scored tile."""

    index: int
    file: str
    expected: int = 0
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    used_size: tuple[int, int] | None = None
    note: str = ""
    image_hash: int | None = None
    boxes: list[tuple[int, int, int]] = field(default_factory=list)
    error: str | None = None
    tile_probabilities: list[np.ndarray] = field(default_factory=list)
    received: int = 0

    @property
    def complete(self) -> bool:
        return self.received >= max(self.expected, 1)


def decide(probabilities: np.ndarray, classes: list[str], metadata: dict) -> tuple[str, float]:
    """The label and its probability. A calibrated model labels only an artwork whose prediction set
    (calibration.prediction_sets) is one class; a binary model calibrated before class thresholds
    existed applies its threshold and review band."""
    if "class_thresholds" in metadata:
        members = prediction_sets(probabilities, [metadata["class_thresholds"][name] for name in classes])[0]
        if members.sum() != 1:
            return NEEDS_REVIEW, float(probabilities.max())
        winner = int(np.argmax(members))
        return classes[winner], float(probabilities[winner])
    winner = int(np.argmax(probabilities))
    if len(classes) == 2 and "threshold" in metadata:
        winner = int(probabilities[1] >= metadata["threshold"])
    confidence = float(probabilities[winner])
    if len(classes) == 2 and "review_band" in metadata:
        low, high = metadata["review_band"]
        if low < probabilities[1] < high:
            return NEEDS_REVIEW, float(probabilities.max())
    return classes[winner], confidence


def _read_artwork(index: int, path: Path, tiling: TilingConfig, config: PredictConfig) -> tuple[_Pending, list]:
    from artcnn.tiling import cut_tiles

    pending = _Pending(index=index, file=str(path))
    try:
        loaded = read_artwork(path, config.limits)
        image = loaded.image
        pending.sha256 = sha256_file(path)
        pending.image_hash = perceptual_hash(image)
        cut = cut_tiles(image, tiling, grid=True, max_tiles=config.max_tiles, keep_blank=True)
    except ArtworkError as error:
        pending.error = error.reason
        return pending, []
    except (OSError, ValueError) as error:
        pending.error = f"{type(error).__name__}: {error}"
        return pending, []
    (pending.width, pending.height), pending.used_size, pending.note = loaded.original_size, image.size, loaded.note
    pending.boxes = [(tile.x, tile.y, tile.size) for tile in cut.tiles]
    pending.expected = len(cut.tiles)
    return pending, [tile.pixels for tile in cut.tiles]


def _tile_stream(
    inputs: Iterable[str | os.PathLike],
    registry: deque,
    tiling: TilingConfig,
    config: PredictConfig,
    stop: threading.Event | None,
) -> Iterator[tuple[int, np.ndarray, bool]]:
    """(artwork index, tile pixels, is a real tile) for every tile of every artwork, in order.

    Each artwork is put on `registry` before its tiles are yielded, so the consumer always finds it
    there. An unreadable artwork yields one placeholder tile (False) so that it flows through the
    batches like the rest and is reported in its place without waiting for the end of the run.
    """
    placeholder = np.zeros((tiling.tile_size, tiling.tile_size, 3), dtype=np.uint8)
    for index, path in enumerate(iter_image_files(inputs)):
        if stop is not None and stop.is_set():
            return
        pending, tiles = _read_artwork(index, path, tiling, config)
        registry.append(pending)
        if not tiles:
            yield index, placeholder, False
        for pixels in tiles:
            yield index, pixels, True


def _finish(pending: _Pending, classes: list[str], metadata: dict, low_confidence: float) -> ArtworkResult:
    if pending.error is not None:
        return ArtworkResult(file=pending.file, sha256=pending.sha256, width=None, height=None, tiles=0,
                             probabilities={}, label=None, confidence=None, error=pending.error)
    tile_probabilities = np.stack(pending.tile_probabilities)
    probabilities = tile_probabilities.mean(axis=0)
    label, confidence = decide(probabilities, classes, metadata)
    return ArtworkResult(
        file=pending.file,
        sha256=pending.sha256,
        width=pending.width,
        height=pending.height,
        used_width=pending.used_size[0],
        used_height=pending.used_size[1],
        note=pending.note,
        tiles=pending.expected,
        probabilities={name: float(value) for name, value in zip(classes, probabilities)},
        label=label,
        confidence=confidence,
        tile_boxes=[(x, y, size, [float(v) for v in tile])
                    for (x, y, size), tile in zip(pending.boxes, tile_probabilities)],
        review=label == NEEDS_REVIEW or confidence < low_confidence,
    )


def classify(
    model: str | os.PathLike | tuple[Any, dict],
    inputs: Iterable[str | os.PathLike],
    config: PredictConfig = PredictConfig(),
    *,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    catalogue: "Catalogue | None" = None,
    model_name: str | None = None,
    source: str = "",
) -> Classification:
    """Classify artwork files and/or folders (searched recursively) with a model file or a loaded
    (model, metadata) pair, yielding one ArtworkResult per file in input order.

    Each result is also sent to `progress` as the payload of a Progress("classifying", done, None)
    event (the total is not known while streaming). Setting `stop` ends the run after the batch in
    progress. With a `catalogue`, the classification is recorded there under `model_name` (default:
    the model file's workspace.model_name, e.g. "demo (synthetic)") and `source` (what was classified, in
    words), each result as it comes, and it is marked finished once every input is done; its id is the
    returned stream's `record`.
    A list or tuple of inputs is checked before the model is loaded (images.check_inputs: a ValueError
    for an input that does not exist or a folder without images); an iterator is read as it streams.
    """
    from artcnn.storage import load_model, model_metadata
    from artcnn.workspace import model_name as name_of

    if isinstance(inputs, Sequence):
        check_inputs(inputs)
    if isinstance(model, tuple):
        model, metadata = model
        metadata = model_metadata(model, metadata)
    else:
        path = model
        model, metadata = load_model(path)
        model_name = model_name or name_of(path, metadata)
    results = _classify_stream(model, metadata, inputs, model_tiling(metadata), config, progress, stop)
    if catalogue is None:
        return Classification(results, None)
    record = catalogue.start_classification(model_name or "model", list(metadata["classes"]), source)
    return Classification(recorded(results, catalogue, record, stop), record)


def model_tiling(metadata: dict) -> TilingConfig:
    """How a model's artworks are cut into tiles, from its metadata (the defaults for a model without)."""
    return from_dict(TilingConfig, metadata["tiling"]) if metadata.get("tiling") else TilingConfig()


def recorded(results: Iterator[ArtworkResult], catalogue: "Catalogue", record: int,
             stop: threading.Event | None) -> Iterator[ArtworkResult]:
    """Results passed through, each stored as it comes in classification `record`, which is marked
    finished at the end unless `stop` ended the run early."""
    for position, result in enumerate(results):
        catalogue.add_result(record, position, result)
        yield result
    # A stopped run stays unfinished, so the catalogue shows it was interrupted.
    if stop is None or not stop.is_set():
        catalogue.finish_classification(record)


def _classify_stream(model, metadata, inputs, tiling, config, progress, stop) -> Iterator[ArtworkResult]:
    import tensorflow as tf

    from artcnn.data import preprocess

    classes = list(metadata["classes"])
    input_size = metadata.get("input_size") or tiling.tile_size
    registry: deque[_Pending] = deque()
    tiles = tf.data.Dataset.from_generator(
        lambda: _tile_stream(inputs, registry, tiling, config, stop),
        output_signature=(
            tf.TensorSpec((), tf.int64),
            tf.TensorSpec((tiling.tile_size, tiling.tile_size, 3), tf.uint8),
            tf.TensorSpec((), tf.bool),
        ),
    )
    batches = (
        tiles.batch(config.batch_size)
        .map(lambda index, pixels, real: (index, preprocess(pixels, input_size), real))
        .prefetch(2)
    )
    pending: dict[int, _Pending] = {}
    repeats = DuplicateFinder()
    next_index = 0
    for indices, pixels, real in batches:
        if stop is not None and stop.is_set():
            return
        outputs = class_probabilities(model.predict_on_batch(pixels), len(classes))
        for index, probabilities, is_tile in zip(indices.numpy(), outputs, real.numpy()):
            while index not in pending:
                artwork = registry.popleft()
                pending[artwork.index] = artwork
            artwork = pending[index]
            artwork.received += 1
            if is_tile:
                artwork.tile_probabilities.append(probabilities)
        while next_index in pending and pending[next_index].complete:
            artwork = pending.pop(next_index)
            result = dataclasses.replace(_finish(artwork, classes, metadata, config.low_confidence),
                                         duplicate_of=repeats.first_of(artwork.file, artwork.image_hash))
            next_index += 1
            emit(progress, "classifying", next_index, None, Path(result.file).name, payload=result)
            yield result


def _fields(classes: list[str]) -> list[str]:
    return ["file", "sha256", "width", "height", "used_width", "used_height", "tiles",
            *[f"p_{name}" for name in classes], "label", "confidence", "review"]


def _row(result: ArtworkResult, classes: list[str]) -> dict:
    if result.error is None and set(result.probabilities) != set(classes):
        # A column per class, each filled: results of another model would leave some empty or unwritten.
        raise ValueError(f"{result.file} was classified into {', '.join(sorted(result.probabilities))}, not into "
                         f"the classes of the table. Received: classes={list(classes)}")
    return {
        "file": result.file,
        "sha256": result.sha256,
        "width": result.width,
        "height": result.height,
        "used_width": result.used_width,
        "used_height": result.used_height,
        "tiles": result.tiles,
        **{f"p_{name}": result.probabilities.get(name) for name in classes},
        "label": result.label,
        "confidence": result.confidence,
        # An unreadable file has no verdict to review: its `error` is what to look at.
        "review": None if result.error else result.review,
        "duplicate_of": result.duplicate_of,
        "error": result.error,
        "note": result.note,
        **result.details,
    }


def write_results_csv(results: Iterable[ArtworkResult], path: str | os.PathLike, classes: list[str],
                      model_name: str, details: Sequence[str] = ()) -> int:
    """Write results as they arrive, one flushed row each, so a crash keeps every finished row.

    Columns: file, sha256, width, height (the file's own size), used_width, used_height (the size classified),
    tiles, p_<class>... (one for each of `classes`), label, confidence, review (True/False), model, error, note
    (what reading the file changed, e.g. a reduced picture), duplicate_of (the earlier file this artwork repeats),
    then the `details` columns (ArtworkResult.details).
    An empty cell is a value the row does not have: no probabilities or verdict for an unreadable file, no error
    for a readable one. Returns the number of rows written.
    """
    columns = [*result_columns(classes), *details]
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        handle.flush()
        for result in results:
            row = _row(result, classes)
            writer.writerow({**{key: f"{value:.6f}" if isinstance(value, float) else value
                                for key, value in row.items()}, "model": model_name})
            handle.flush()
            rows += 1
    return rows


def result_columns(classes: list[str]) -> list[str]:
    """The results CSV's own columns, before any details."""
    return [*_fields(classes), "model", "error", "note", "duplicate_of"]


def results_to_frame(results: Iterable[ArtworkResult], classes: list[str], details: Sequence[str] = ()) -> pd.DataFrame:
    """Results as a table with the CSV's columns (without `model`)."""
    return pd.DataFrame([_row(result, classes) for result in results],
                        columns=[*_fields(classes), "error", "note", "duplicate_of", *details])
