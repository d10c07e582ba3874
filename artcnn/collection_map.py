"""A map of the collection: every artwork placed in 2-D by the model's own embedding (the layer before
its output, averaged over the artwork's tiles), so that artworks the model sees alike lie together.

UMAP (umap-learn, what PixPlot uses) lays out the map; a set too small for its neighbour graph, or an
installation without it, gets PCA instead. The embeddings and the layout are cached in one file per
model and inputs (or per catalogue classification), so the map opens instantly the second time.
Plotly's WebGL scatter draws 10,000 points without freezing a browser.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd

from artcnn.config import PredictConfig, to_dict
from artcnn.progress import ProgressCallback, emit

if TYPE_CHECKING:
    import plotly.graph_objects as go

# Below this many artworks UMAP's neighbour graph (15 neighbours by default) has too little to work
# with and its layout is noise; PCA shows the same few points faithfully.
UMAP_MIN_ARTWORKS = 15
# Neighbours UMAP balances local against global structure with (its own default).
UMAP_NEIGHBOURS = 15
# umap-learn's own choice above 10,000 points; below that it runs 500, 2.5 times as long, for a map that
# looks the same at a glance.
UMAP_EPOCHS = 200
# Up to this many artworks the neighbours UMAP starts from are found exactly, in numpy blocks (3-4 CPU-seconds
# for 10,000), which spares numba compiling umap-learn's approximate search on the first map of every process:
# that map of 10,000 fell from 41.5 to 17.9 CPU-seconds (bench/collection_map.py). Beyond, exact search grows
# with the square of the count and umap-learn's own wins.
EXACT_NEIGHBOURS_LIMIT = 20_000
# Distances computed at once by the exact search (8 bytes each): its memory stays near 40 MB.
NEIGHBOUR_BLOCK_VALUES = 5_000_000
# Wider embeddings are first reduced to this many directions by PCA (as PixPlot does): the neighbour search
# runs on far less data and keeps nearly all the variance that tells artworks apart.
UMAP_INPUT_WIDTH = 50
# What a cached map holds; a map kept in an earlier format is made again. 2: an artwork's probabilities are its
# verdict as classify gives it (its whole view weighed as in training, a statistics head blended in).
CACHE_FORMAT = 2


@dataclass(frozen=True)
class CollectionMap:
    """Artworks placed on the map, and how they were placed."""

    # One row per readable artwork: x, y, file, label, p_<class>... (map_columns).
    table: pd.DataFrame
    classes: list[str]
    # "umap" or "pca".
    method: str
    # Files that could not be read: {file: reason}; they are not on the map.
    errors: dict[str, str]
    # Whether it came from the cache.
    cached: bool = False


def map_columns(classes: Sequence[str]) -> list[str]:
    """The map CSV's columns."""
    return ["x", "y", "file", "label", *[f"p_{name}" for name in classes]]


def embedding_model(model: Any) -> Any:
    """The model with a second output: the input of its output layer (what it decides from)."""
    import keras

    return keras.Model(model.inputs, [model.layers[-1].input, *model.outputs])


def embed_artworks(model: Any, metadata: dict, inputs: Iterable[str | os.PathLike],
                   config: PredictConfig = PredictConfig(), *,
                   progress: ProgressCallback | None = None) -> tuple[list[str], np.ndarray, np.ndarray, dict]:
    """Files, embeddings [n, width] (the means of its tiles', evaluation.tile_mean, as classify averages them) and
    verdict probabilities [n, classes] (as classify gives them: blended with the picture's global statistics when
    the model has a statistics head) of each readable artwork, cut and scaled exactly as prediction.classify
    does, in one pass; and {file: reason} of the unreadable ones."""
    from collections import deque

    from artcnn.data import preprocess
    from artcnn.evaluation import class_probabilities, tile_mean
    from artcnn.image_statistics import StatisticsHead
    from artcnn.prediction import model_tiling, with_statistics
    from artcnn.reading import tile_stream

    tiling = model_tiling(metadata)
    head = StatisticsHead.from_metadata(metadata)
    input_size = metadata.get("input_size") or model.input_shape[1] or tiling.tile_size
    both = embedding_model(model)
    registry: deque = deque()
    # An artwork's scored tiles until its last one, then its means: memory holds only the artworks in flight.
    scored: dict[int, list[np.ndarray]] = {}
    means: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    artworks: dict[int, Any] = {}

    def score(batch: list[tuple[int, np.ndarray]]) -> None:
        vectors, outputs = both.predict_on_batch(preprocess(np.stack([pixels for _, pixels in batch]), input_size))
        probabilities = class_probabilities(outputs, len(metadata["classes"]))
        for (index, _), vector, probability in zip(batch, np.asarray(vectors, dtype=np.float64), probabilities):
            scored.setdefault(index, []).append(np.concatenate([vector, probability]))
            if len(scored[index]) == artworks[index].expected:
                mean = tile_mean(np.stack(scored.pop(index)), artworks[index].whole, tiling)
                means[index] = (mean[:len(vector)], with_statistics(mean[len(vector):], artworks[index], head))

    batch: list[tuple[int, np.ndarray]] = []
    for index, pixels, real in tile_stream(inputs, registry, tiling, config, None, statistics=head is not None):
        while registry:
            artwork = registry.popleft()
            artworks[artwork.index] = artwork
            emit(progress, "embedding", artwork.index + 1, None, Path(artwork.file).name)
        if real:
            batch.append((index, pixels))
        if len(batch) == config.batch_size:
            score(batch)
            batch = []
    if batch:
        score(batch)
    readable = sorted(means)
    files = [artworks[index].file for index in readable]
    vectors = np.array([means[index][0] for index in readable], ndmin=2)
    probabilities = np.array([means[index][1] for index in readable], ndmin=2)
    errors = {artwork.file: artwork.error for index, artwork in sorted(artworks.items()) if index not in means}
    return files, vectors, probabilities, errors


def layout(vectors: np.ndarray, method: str | None = None) -> tuple[np.ndarray, str]:
    """[n, 2] map positions of embeddings [n, width] and the method used: UMAP, or PCA for fewer than
    UMAP_MIN_ARTWORKS artworks or when umap-learn is not installed (`method` forces one)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) < 2:
        raise ValueError(f"a map needs at least two artworks to place against each other. "
                         f"Received: {len(vectors)} artwork(s)")
    if method not in (None, "umap", "pca"):
        raise ValueError(f"method must be 'umap' or 'pca'. Received: method={method!r}")
    if method is None:
        method = "umap" if len(vectors) >= UMAP_MIN_ARTWORKS and _has_umap() else "pca"
    if method == "pca":
        return _pca(vectors), "pca"
    import umap

    if vectors.shape[1] > UMAP_INPUT_WIDTH:
        vectors = _pca(vectors, UMAP_INPUT_WIDTH)
    neighbours = min(UMAP_NEIGHBOURS, len(vectors) - 1)
    known = (*nearest_neighbours(vectors, neighbours), None) if len(vectors) <= EXACT_NEIGHBOURS_LIMIT else None
    # PCA initialisation: the spectral one is slower and warns when the neighbour graph falls into pieces.
    # No random_state: a seed makes umap-learn run on one core only; the cache keeps a collection's map the
    # same from one look to the next.
    reducer = umap.UMAP(n_components=2, n_neighbors=neighbours, n_epochs=UMAP_EPOCHS, init="pca",
                        precomputed_knn=known or (None, None, None))
    return np.asarray(reducer.fit_transform(vectors), dtype=np.float64), "umap"


def nearest_neighbours(vectors: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances [n, count] of each vector's `count` nearest (itself first), exactly."""
    squares = (vectors * vectors).sum(axis=1)
    indices = np.empty((len(vectors), count), dtype=np.int64)
    distances = np.empty((len(vectors), count))
    block = max(1, NEIGHBOUR_BLOCK_VALUES // len(vectors))
    for start in range(0, len(vectors), block):
        squared = squares[start:start + block, None] - 2 * vectors[start:start + block] @ vectors.T + squares
        np.maximum(squared, 0.0, out=squared)
        # Itself at distance 0 first, even when rounding leaves another vector at 0 too.
        squared[np.arange(len(squared)), np.arange(start, start + len(squared))] = -1.0
        nearest = np.argpartition(squared, count - 1, axis=1)[:, :count]
        nearest_squared = np.take_along_axis(squared, nearest, axis=1)
        order = np.argsort(nearest_squared, axis=1)
        indices[start:start + block] = np.take_along_axis(nearest, order, axis=1)
        distances[start:start + block] = np.sqrt(np.maximum(np.take_along_axis(nearest_squared, order, axis=1), 0.0))
    return indices, distances


def _has_umap() -> bool:
    import importlib.util

    return importlib.util.find_spec("umap") is not None


def _pca(vectors: np.ndarray, width: int = 2) -> np.ndarray:
    """The embeddings along their `width` main directions (numpy's SVD)."""
    centred = vectors - vectors.mean(axis=0)
    left, singular, _ = np.linalg.svd(centred, full_matrices=False)
    positions = left[:, :width] * singular[:width]
    # Two artworks, or embeddings all alike, span fewer directions than asked: the rest is 0.
    return np.pad(positions, ((0, 0), (0, width - positions.shape[1])))


def cache_key(model_file: str | os.PathLike, inputs: Sequence[str | os.PathLike], config: PredictConfig) -> str:
    """A name for one model's map of some inputs: changes when the model file, an input file (its size or
    time of change) or the prediction settings change."""
    from artcnn.images import iter_image_files, sha256_file

    digest = hashlib.sha256(sha256_file(model_file).encode())
    digest.update(json.dumps(to_dict(config), sort_keys=True, default=str).encode())
    for path in iter_image_files(inputs):
        stat = path.stat() if path.exists() else None
        digest.update(f"{path}\0{stat.st_size if stat else -1}\0{stat.st_mtime_ns if stat else -1}\n".encode())
    return digest.hexdigest()[:32]


def collection_map(model: str | os.PathLike | tuple[Any, dict], inputs: Sequence[str | os.PathLike],
                   config: PredictConfig = PredictConfig(), *, cache_dir: str | os.PathLike | None = None,
                   key: str | None = None, method: str | None = None,
                   progress: ProgressCallback | None = None) -> CollectionMap:
    """The map of `inputs` (files and folders) by a model file or a loaded (model, metadata) pair.

    With `cache_dir`, it is kept there as `<key>.npz`: `key` names it (e.g. "classification-12" for a
    catalogue classification), else a model file's map is keyed by cache_key. Too few readable artworks
    are a ValueError in words.
    """
    from artcnn.images import check_inputs
    from artcnn.prediction import decide

    check_inputs(inputs)
    if key is None and cache_dir is not None and not isinstance(model, tuple):
        key = cache_key(model, inputs, config)
    cache_file = Path(cache_dir) / f"{key}.npz" if cache_dir is not None and key is not None else None
    cached = _read_cache(cache_file) if cache_file is not None and cache_file.is_file() else None
    if cached is not None:
        return cached
    from artcnn.storage import load_model, model_metadata

    model, metadata = (model[0], model_metadata(*model)) if isinstance(model, tuple) else load_model(model)
    classes = list(metadata["classes"])
    files, vectors, probabilities, errors = embed_artworks(model, metadata, inputs, config, progress=progress)
    if not files:
        first = next(iter(errors.items()), None)
        raise ValueError(f"none of the {len(errors)} artwork(s) could be read, so there is nothing to map"
                         + (f" (e.g. {first[0]}: {first[1]})." if first else "."))
    if len(files) < 2:
        raise ValueError(f"a map needs at least two artworks to place against each other; only {files[0]} "
                         f"could be classified{' (the others could not be read)' if errors else ''}.")
    positions, used = layout(vectors, method)
    labels = [decide(row, classes, metadata)[0] for row in probabilities]
    table = _table(positions, files, labels, probabilities, classes)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial.npz")
        np.savez(partial, positions=positions, vectors=vectors, probabilities=probabilities, files=np.array(files),
                 labels=np.array(labels), classes=np.array(classes), method=np.array(used),
                 errors=np.array(json.dumps(errors)), format=np.array(CACHE_FORMAT))
        os.replace(partial, cache_file)
    return CollectionMap(table=table, classes=classes, method=used, errors=errors)


def _table(positions, files, labels, probabilities, classes) -> pd.DataFrame:
    table = pd.DataFrame({"x": positions[:, 0], "y": positions[:, 1], "file": list(files), "label": list(labels)})
    for index, name in enumerate(classes):
        table[f"p_{name}"] = probabilities[:, index]
    return table


def _read_cache(cache_file: Path) -> CollectionMap | None:
    """The map kept in `cache_file`, or None when it was kept in an earlier format (to be made again)."""
    with np.load(cache_file) as stored:
        if "format" not in stored or int(stored["format"]) != CACHE_FORMAT:
            return None
        classes = [str(name) for name in stored["classes"]]
        table = _table(stored["positions"], [str(file) for file in stored["files"]],
                       [str(label) for label in stored["labels"]],
                       stored["probabilities"], classes)
        return CollectionMap(table=table, classes=classes, method=str(stored["method"]),
                             errors=json.loads(str(stored["errors"])), cached=True)


def map_figure(collection: CollectionMap) -> "go.Figure":
    """The map as a Plotly WebGL scatter: one trace per verdict, paler for lower confidence; hovering a
    point shows the file name and its probabilities. Each point's customdata[0] is its row in `table`,
    for a page to filter its results by a box or lasso selection."""
    import plotly.graph_objects as go

    table = collection.table
    probability_columns = [f"p_{name}" for name in collection.classes]
    figure = go.Figure()
    for label, rows in table.groupby("label", sort=True):
        hover = [f"{Path(file).name}<br>" + "<br>".join(f"{name}: {p:.2f}" for name, p in zip(collection.classes, ps))
                 for file, ps in zip(rows["file"], rows[probability_columns].to_numpy())]
        figure.add_trace(go.Scattergl(
            x=rows["x"], y=rows["y"], mode="markers", name=str(label),
            marker={"size": 7, "opacity": 0.35 + 0.65 * rows[probability_columns].max(axis=1).to_numpy()},
            customdata=np.column_stack([rows.index.to_numpy(), hover]), hovertemplate="%{customdata[1]}<extra></extra>",
        ))
    figure.update_layout(dragmode="lasso", legend_title_text="verdict", xaxis={"visible": False},
                         yaxis={"visible": False}, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    return figure
