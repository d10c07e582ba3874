"""Classifying whole artworks: every artwork is cut into a grid of tiles, the model scores each
tile, and the artwork's probabilities are the mean of its tiles' (its whole view, for a model trained with one,
weighing as it did in training: evaluation.tile_mean; blended with the whole picture's global statistics when the
model has a statistics head, artcnn.image_statistics).

Collections run to tens of thousands of files, so everything streams: files are read, hashed and
tiled by a pool of threads a bounded number of files ahead (artcnn/reading.py) while the model scores
the previous batch, batches mix tiles of several artworks, and each result is yielded (in input
order) as soon as its last tile is scored.
A file that cannot be read yields a result with `error` set instead of stopping the run. Given a
catalogue, the classification and each result are recorded there the moment they exist, so one run
from a page or the CLI is kept alike (and survives a restart mid-run).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from artcnn.calibration import prediction_sets
from artcnn.config import PredictConfig, TilingConfig, tiling_from_dict
from artcnn.duplicates import DuplicateFinder
from artcnn.evaluation import class_probabilities, tile_mean
from artcnn.image_statistics import StatisticsHead
from artcnn.images import check_inputs
from artcnn.progress import ProgressCallback, emit
from artcnn.reading import Pending, read_artworks

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
    # Size of the picture the tiles were cut from: width × height unless it was reduced to the decode limit (see
    # `note`) or, for a model with a TilingConfig.long_side, decoded at the smaller scale its tiles need.
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


def with_statistics(mean: np.ndarray, pending: Pending, head: StatisticsHead | None) -> np.ndarray:
    """An artwork's verdict probabilities from its tiles' `mean` (evaluation.tile_mean): blended by the model's
    statistics `head` with the picture's statistics the reading measured (Pending.statistics); unchanged without."""
    return mean if head is None else head.blend(mean[None], pending.statistics[None])[0]


def artwork_result(pending: Pending, classes: list[str], metadata: dict, tiling: TilingConfig, low_confidence: float,
                   head: StatisticsHead | None) -> ArtworkResult:
    """A scored artwork's result: its verdict from its tiles' probabilities (evaluation.tile_mean), blended by the
    model's statistics `head` when it has one, and what made it."""
    if pending.error is not None:
        return ArtworkResult(file=pending.file, sha256=pending.sha256, width=None, height=None, tiles=0,
                             probabilities={}, label=None, confidence=None, error=pending.error)
    tile_probabilities = np.stack(pending.tile_probabilities)
    probabilities = with_statistics(tile_mean(tile_probabilities, pending.whole, tiling), pending, head)
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
    if config.engine == "ray":
        from artcnn.ray_engine import connect

        connect(config.ray_address)
    results = _classify_stream(model, metadata, inputs, model_tiling(metadata), config, progress, stop)
    if catalogue is None:
        return Classification(results, None)
    record = catalogue.start_classification(model_name or "model", list(metadata["classes"]), source)
    return Classification(recorded(results, catalogue, record, stop), record)


def model_tiling(metadata: dict) -> TilingConfig:
    """How a model's artworks are cut into tiles, from its metadata (for a model without: the defaults, without
    whole views)."""
    return tiling_from_dict(metadata.get("tiling") or {})


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
    """Every artwork scored by config.engine, in input order, turned into its result as soon as it is complete."""
    if config.engine == "ray":
        from artcnn.ray_engine import scored_on_ray

        artworks = scored_on_ray(model, metadata, inputs, tiling, config, stop)
    else:
        artworks = _scored_locally(model, metadata, inputs, tiling, config, stop)
    classes = list(metadata["classes"])
    head = StatisticsHead.from_metadata(metadata)
    repeats = DuplicateFinder()
    for done, artwork in enumerate(artworks, start=1):
        result = dataclasses.replace(artwork_result(artwork, classes, metadata, tiling, config.low_confidence, head),
                                     duplicate_of=repeats.first_of(artwork.file, artwork.image_hash))
        emit(progress, "classifying", done, None, Path(result.file).name, payload=result)
        yield result


def _scored_locally(model, metadata, inputs, tiling, config, stop) -> Iterator[Pending]:
    """Tiles of artworks read and resized in parallel (reading.read_artworks) fill batches of config.batch_size, mixing
    artworks; each artwork is yielded, in input order, once its last tile is scored."""
    input_size = metadata.get("input_size") or tiling.tile_size
    buffer = np.empty((config.batch_size, input_size, input_size, 3), dtype=np.float32)
    owners: list[Pending] = []
    waiting: deque[Pending] = deque()

    def score() -> None:
        outputs = class_probabilities(model.predict_on_batch(buffer[:len(owners)]), len(metadata["classes"]))
        for artwork, probabilities in zip(owners, outputs):
            artwork.tile_probabilities.append(probabilities)
            artwork.received += 1
        owners.clear()

    def finished() -> Iterator[Pending]:
        while waiting and waiting[0].complete:
            yield waiting.popleft()

    reader = read_artworks(inputs, tiling, config, stop, input_size, statistics="statistics" in metadata)
    try:
        for artwork, tiles in reader:
            waiting.append(artwork)
            for pixels in tiles:
                buffer[len(owners)] = pixels
                owners.append(artwork)
                if len(owners) == config.batch_size:
                    if stop is not None and stop.is_set():
                        return
                    score()
                    yield from finished()
            yield from finished()
        if owners and not (stop is not None and stop.is_set()):
            score()
        yield from finished()
    finally:
        reader.close()
