"""Reading artworks for classification on every core: each file is read, decoded, hashed and cut into
tiles by a pool of threads (Pillow, hashlib and numpy's copies release the GIL), while the model scores
the previous tiles. Results come back in input order and as they are ready, with at most
`PredictConfig.read_ahead` files read (or being read) and not yet handed out, so memory stays bounded
however long the collection.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np

from artcnn.config import PredictConfig, TilingConfig
from artcnn.duplicates import perceptual_hash
from artcnn.images import ArtworkError, iter_image_files, read_artwork, sha256_file

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Pending:
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
    # Which of the boxes is the artwork's whole view (TilingConfig.whole_view), for evaluation.tile_mean.
    whole: list[bool] = field(default_factory=list)
    # image_statistics of the picture, for a model whose verdict uses them.
    statistics: np.ndarray | None = None
    # The picture the boxes lie in, kept only when asked (Grad-CAM lays its map over it); a stream keeps none.
    picture: Any = None
    error: str | None = None
    tile_probabilities: list[np.ndarray] = field(default_factory=list)
    received: int = 0

    @property
    def complete(self) -> bool:
        return self.error is not None or self.received >= self.expected


def read_for_tiles(index: int, path: Path, tiling: TilingConfig, config: PredictConfig,
                   statistics: bool = False, keep_picture: bool = False) -> tuple[Pending, list]:
    """One artwork read, hashed and cut into its grid of tiles: (its Pending, the tiles' pixels); an unreadable
    file gives a Pending with `error` set and no tiles. A big JPEG is decoded at the scale the tiles need.
    With `statistics`, the Pending carries the picture's image_statistics too; with `keep_picture`, the picture."""
    from artcnn.image_statistics import image_statistics
    from artcnn.tiling import cut_tiles

    pending = Pending(index=index, file=str(path))
    try:
        loaded = read_artwork(path, config.limits, long_side=tiling.long_side, min_side=tiling.tile_size)
        image = loaded.image
        pending.sha256 = sha256_file(path)
        pending.image_hash = perceptual_hash(image)
        cut = cut_tiles(image, tiling, grid=True, max_tiles=config.max_tiles, keep_blank=True)
        if statistics:
            pending.statistics = image_statistics(image)
    except ArtworkError as error:
        pending.error = error.reason
        return pending, []
    except (OSError, ValueError) as error:
        pending.error = f"{type(error).__name__}: {error}"
        return pending, []
    if not cut.tiles:
        pending.error = "no tiles could be cut from the picture"
        return pending, []
    (pending.width, pending.height), pending.used_size, pending.note = loaded.original_size, image.size, loaded.note
    pending.boxes = [(tile.x, tile.y, tile.size) for tile in cut.tiles]
    pending.whole = [tile.whole for tile in cut.tiles]
    pending.expected = len(cut.tiles)
    if keep_picture:
        pending.picture = image
    return pending, [tile.pixels for tile in cut.tiles]


def workers_of(config: PredictConfig) -> int:
    """Reading threads for `config`: its read_workers, or one per core."""
    return config.read_workers or os.cpu_count() or 1


def read_ahead(items: Iterable[T], read: Callable[[int, T], R], workers: int, ahead: int,
               stop: threading.Event | None = None) -> Iterator[R]:
    """read(index, item) of every item by `workers` threads, yielded in input order, with at most `ahead` items
    taken from `items` and not yet handed out. `items` is iterated on a thread of its own, so a slow source (IIIF
    images being fetched) never holds up the results already read. Setting `stop` submits no more; closing the
    iterator cancels what has not started. An error raised by `items` or `read` is raised here, in its place."""
    if workers < 1 or ahead < 1:
        raise ValueError(f"workers and ahead must be at least 1. Received: workers={workers}, ahead={ahead}")
    slots = threading.Semaphore(ahead)
    closed = threading.Event()
    submitted: queue.Queue = queue.Queue()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="artcnn-read")

    def feed() -> None:
        source = enumerate(items)
        try:
            while True:
                # A slot first, then the item: the source is never read further ahead than the readers.
                while not slots.acquire(timeout=0.1):
                    if closed.is_set():
                        return
                following = next(source, None)
                if following is None or closed.is_set() or (stop is not None and stop.is_set()):
                    return
                submitted.put(pool.submit(read, *following))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            submitted.put(error)
        finally:
            submitted.put(None)

    feeder = threading.Thread(target=feed, name="artcnn-list", daemon=True)
    feeder.start()
    try:
        while (entry := submitted.get()) is not None:
            if isinstance(entry, BaseException):
                raise entry
            result = entry.result()
            slots.release()
            yield result
    finally:
        closed.set()
        pool.shutdown(wait=False, cancel_futures=True)


def read_artworks(inputs: Iterable[str | os.PathLike], tiling: TilingConfig, config: PredictConfig,
                  stop: threading.Event | None = None, input_size: int | None = None,
                  statistics: bool = False) -> Iterator[tuple[Pending, Any]]:
    """read_for_tiles of every image file of `inputs` (images.iter_image_files), in parallel, in input order;
    with `input_size`, each artwork's tiles come as the model's inputs (data.model_inputs), prepared by the
    same threads."""
    from artcnn.data import model_inputs

    def read(index: int, path: Path) -> tuple[Pending, Any]:
        pending, tiles = read_for_tiles(index, path, tiling, config, statistics)
        return pending, model_inputs(tiles, input_size) if input_size and tiles else tiles

    return read_ahead(iter_image_files(inputs), read, workers_of(config), config.read_ahead, stop)


def tile_stream(inputs: Iterable[str | os.PathLike], registry: deque, tiling: TilingConfig, config: PredictConfig,
                stop: threading.Event | None, statistics: bool = False) -> Iterator[tuple[int, np.ndarray, bool]]:
    """(artwork index, tile pixels, is a real tile) for every tile of every artwork, in order; with `statistics`,
    each artwork's Pending carries its image_statistics.

    Each artwork is put on `registry` before its tiles are yielded, so the consumer always finds it
    there. An unreadable artwork yields one placeholder tile (False) so that it flows through the
    batches like the rest and is reported in its place.
    """
    placeholder = np.zeros((tiling.tile_size, tiling.tile_size, 3), dtype=np.uint8)
    for pending, tiles in read_artworks(inputs, tiling, config, stop, statistics=statistics):
        if stop is not None and stop.is_set():
            return
        registry.append(pending)
        if not tiles:
            yield pending.index, placeholder, False
        for pixels in tiles:
            yield pending.index, pixels, True
