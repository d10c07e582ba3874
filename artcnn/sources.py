"""Artworks with the columns they carry: local files, IIIF canvases fetched into the cache, each
possibly joined with a collection record; classified by `prediction.classify`, the columns beside
each result.

An artwork that could not be had (a dead link, a 404, a manifest that is not IIIF) keeps its place
in the results as a row with an error, and the others go on.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from artcnn.config import ImageLimits, PredictConfig, TilingConfig
from artcnn.fetching import FetchConfig, Fetcher, FetchError
from artcnn.iiif import Canvas, fetch_image, read_manifest
from artcnn.images import check_inputs, iter_image_files
from artcnn.prediction import ArtworkResult, model_tiling
from artcnn.progress import ProgressCallback, emit
from artcnn.records import RecordMatch, Records, join_records

if TYPE_CHECKING:
    from artcnn.catalogue import Catalogue

# The columns every IIIF artwork carries, in the results CSV's order.
IIIF_COLUMNS = ("identifier", "canvas", "canvas_label", "manifest", "manifest_label", "title", "creator", "date",
                "image_url")


@dataclass(frozen=True)
class Artwork:
    """One thing to classify: a local file, or the reason there is none."""

    # The file to classify (a IIIF image is first fetched into the cache); None when it could not be had.
    path: Path | None
    # Columns carried to the results (IIIF_COLUMNS, a record's columns), in order.
    details: dict[str, str] = field(default_factory=dict)
    # Why there is no file, in words.
    error: str | None = None
    # What the artwork is called where it came from: the file's name stem, or the canvas's label.
    name: str = ""
    # Every metadata pair the artwork came with (a IIIF manifest's and canvas's, lower-case labels).
    metadata: dict[str, str] = field(default_factory=dict)


def file_artworks(inputs: Iterable[str | os.PathLike]) -> Iterator[Artwork]:
    """Image files given directly or found (recursively) in folders given, as artworks."""
    for path in iter_image_files(inputs):
        yield Artwork(path=path, name=path.stem)


def read_canvases(manifests: Sequence[str | os.PathLike], fetcher: Fetcher,
                  progress: ProgressCallback | None = None) -> list[Canvas]:
    """Every canvas of every manifest, in order (a manifest that cannot be read is one canvas with an error)."""
    canvases: list[Canvas] = []
    for done, manifest in enumerate(manifests, start=1):
        canvases += read_manifest(manifest, fetcher)
        emit(progress, "reading manifests", done, len(manifests), str(manifest))
    return canvases


def iiif_artworks(canvases: Sequence[Canvas], fetcher: Fetcher, tiling: TilingConfig,
                  limits: ImageLimits = ImageLimits()) -> Iterator[Artwork]:
    """The canvases' images fetched into the cache, several at a time (FetchConfig.workers, per_host),
    and yielded in the canvases' order."""
    pool = ThreadPoolExecutor(max_workers=fetcher.config.workers, thread_name_prefix="iiif")
    try:
        for artwork in pool.map(lambda canvas: _fetched(canvas, fetcher, tiling, limits), canvases):
            yield artwork
    finally:
        # A run stopped half-way leaves the canvases not yet started unfetched.
        pool.shutdown(wait=False, cancel_futures=True)


def _fetched(canvas: Canvas, fetcher: Fetcher, tiling: TilingConfig, limits: ImageLimits) -> Artwork:
    details = {
        "identifier": canvas.id or canvas.manifest, "canvas": canvas.id, "canvas_label": canvas.label,
        "manifest": canvas.manifest, "manifest_label": canvas.manifest_label, "title": canvas.title,
        "creator": canvas.creator, "date": canvas.date, "image_url": "",
    }
    common = dict(name=canvas.label or canvas.id, metadata=canvas.metadata)
    if canvas.error:
        return Artwork(path=None, details=details, error=canvas.error, **common)
    try:
        path, url = fetch_image(canvas, fetcher, tiling, limits)
    except FetchError as error:
        return Artwork(path=None, details=details, error=f"image not fetched: {error}", **common)
    return Artwork(path=path, details={**details, "image_url": url}, **common)


def classify_artworks(
    model: str | os.PathLike | tuple[Any, dict],
    artworks: Iterable[Artwork],
    config: PredictConfig = PredictConfig(),
    *,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> Iterator[ArtworkResult]:
    """One result per artwork, in order, each with the artwork's details: `prediction.classify` scores
    the files while the artworks are still being fetched; an artwork without a file is a result with
    its error. Each result is sent to `progress` as the payload of Progress("classifying", done, total)."""
    from artcnn.prediction import classify

    waiting: deque[Artwork] = deque()

    def files() -> Iterator[Path]:
        # Runs in classify's reading thread: an artwork is queued before its file is read, so the
        # result that comes back always finds it (and every artwork without a file before it) here.
        for artwork in artworks:
            waiting.append(artwork)
            if artwork.path is not None:
                yield artwork.path

    def report(result: ArtworkResult, done: int) -> ArtworkResult:
        emit(progress, "classifying", done, total, result.details.get("canvas_label") or Path(result.file).name,
             payload=result)
        return result

    done = 0
    for result in classify(model, files(), config, stop=stop):
        while waiting[0].path is None:
            done += 1
            yield report(_unavailable(waiting.popleft()), done)
        done += 1
        yield report(dataclasses.replace(result, details=waiting.popleft().details), done)
    if stop is not None and stop.is_set():
        return
    while waiting:
        done += 1
        yield report(_unavailable(waiting.popleft()), done)


def _unavailable(artwork: Artwork) -> ArtworkResult:
    return ArtworkResult(file=artwork.details.get("identifier") or artwork.name, sha256=None, width=None,
                         height=None, tiles=0, probabilities={}, label=None, confidence=None, error=artwork.error,
                         details=artwork.details)


class SourcedClassification(Iterator[ArtworkResult]):
    """The results of `classify_sources` as they stream, in order, with what is known before they come."""

    def __init__(self, results: Iterator[ArtworkResult], total: int | None, columns: list[str],
                 match: RecordMatch | None, record: int | None):
        self._results = results
        # Artworks in all: files found and canvases listed (a manifest that could not be read counts one);
        # None when the files were not counted first.
        self.total = total
        # The details columns every result carries, in order (IIIF columns, then the records').
        self.columns = columns
        # How the artworks met the records (complete once the stream is), None without records.
        self.match = match
        # The classification's id in the catalogue it is recorded in, or None when it is not recorded.
        self.record = record

    def __next__(self) -> ArtworkResult:
        return next(self._results)


def classify_sources(
    model: str | os.PathLike | tuple[Any, dict],
    inputs: Sequence[str | os.PathLike] = (),
    manifests: Sequence[str | os.PathLike] = (),
    config: PredictConfig = PredictConfig(),
    *,
    fetch: FetchConfig | None = None,
    records: Records | None = None,
    count_files: bool = True,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    catalogue: "Catalogue | None" = None,
    model_name: str | None = None,
    source: str = "",
) -> SourcedClassification:
    """Classify image files and folders (`inputs`) and every canvas of IIIF manifests (URLs or files),
    each canvas's image fetched as `fetch` says (default FetchConfig(): the workspace's cache), and
    join `records` to them: one result per artwork, files first, each with its details columns.
    `count_files=False` starts on the first file at once instead of listing them all for the total.
    Given a `catalogue`, every result (the unavailable ones too) is recorded there as in prediction.classify."""
    from artcnn.prediction import recorded
    from artcnn.storage import load_model, model_metadata
    from artcnn.workspace import model_name as name_of

    if not inputs and not manifests:
        raise ValueError("Nothing to classify: give image files or folders, or IIIF manifests. "
                         f"Received: inputs={list(inputs)}, manifests={list(manifests)}")
    check_inputs(inputs)
    if isinstance(model, tuple):
        model = (model[0], model_metadata(model[0], model[1]))
    else:
        path = model
        model = load_model(path)
        model_name = model_name or name_of(path, model[1])
    artworks: Iterable[Artwork] = file_artworks(inputs)
    total = None
    if count_files:
        artworks = list(artworks)
        total = len(artworks)
    columns: list[str] = []
    if manifests:
        fetcher = Fetcher(fetch or FetchConfig())
        canvases = read_canvases(manifests, fetcher, progress)
        tiled = iiif_artworks(canvases, fetcher, model_tiling(model[1]), config.limits)
        artworks = itertools.chain(artworks, tiled)
        columns = list(IIIF_COLUMNS)
        total = None if total is None else total + len(canvases)
    match = None
    if records is not None:
        match = RecordMatch(records)
        artworks = join_records(artworks, match)
        columns += [column for column in records.columns if column not in columns]
    results = classify_artworks(model, artworks, config, total=total, progress=progress, stop=stop)
    record = None
    if catalogue is not None:
        record = catalogue.start_classification(model_name or "model", list(model[1]["classes"]), source)
        results = recorded(results, catalogue, record, stop)
    return SourcedClassification(results, total, columns, match, record)
