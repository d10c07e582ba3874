"""Classifying past one machine: the same classification as the local engine, run on Ray Data.

Files are read, hashed and cut into tiles by Ray tasks (reading.read_for_tiles, as locally), a pool of
model actors (PredictConfig.ray_actors, the model loaded once in each) scores the tiles in batches of
PredictConfig.batch_size, and this process gathers each artwork's tile probabilities, in input order,
into the same results as the local engine (prediction.classify does the rest: CSV, catalogue).
Ray is optional (requirements-ray.txt); a Ray started on this machine is used unless an address is given.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from artcnn.config import PredictConfig, TilingConfig
from artcnn.images import iter_image_files
from artcnn.reading import Pending, read_for_tiles

INSTALL = 'pip install -r requirements-ray.txt (or pip install "ray[data]")'
# Files each reading task reads into one block of tiles.
FILES_PER_TASK = 8
# Seconds to wait for a cluster's address to answer before saying it cannot be reached.
CONNECT_TIMEOUT = 10.0


class EngineFailed(RuntimeError):
    """The Ray run stopped part-way (a worker, an actor or a node was lost, the cluster went away). The results
    already yielded stand; classifying the rest again (CLI: --resume) finishes the run."""


def connect(address: str | None = None) -> None:
    """Make sure this process is connected to Ray: the one already connected, the cluster at `address` (or
    RAY_ADDRESS), else a Ray started on this machine. A ValueError says how to install Ray when it is missing; a
    ConnectionError names an address that does not answer."""
    try:
        import ray
    except ImportError:
        raise ValueError(f"--engine ray needs Ray, which is not installed here: {INSTALL}") from None
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address not in (None, "auto", "local"):
        _check_reachable(address)
    try:
        ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]},
                 log_to_driver=False, include_dashboard=False if address is None else None)
    except ConnectionError as error:
        raise ConnectionError(f"cannot connect to the Ray cluster at {address} ({error}). Received: "
                              f"ray_address={address!r}") from None


def _check_reachable(address: str) -> None:
    """Refuse at once (not after Ray's long retries) an address whose host and port do not answer."""
    host_port = address.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a Ray address is ray://HOST:PORT or HOST:PORT. Received: ray_address={address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise ConnectionError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}. Is the "
                              f"cluster running, and is {host}:{port} open from here? Received: "
                              f"ray_address={address!r}") from None


def scored_on_ray(model: Any, metadata: dict, inputs: Iterable[str | os.PathLike], tiling: TilingConfig,
                  config: PredictConfig, stop: threading.Event | None = None) -> Iterator[Pending]:
    """Every artwork of `inputs` with its tiles' probabilities, in input order, scored on Ray Data."""
    import ray

    connect(config.ray_address)
    files = [str(path) for path in iter_image_files(inputs)]
    if not files:
        return
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    side = tiling.tile_size
    listed = ray.data.from_items([{"index": index, "file": file} for index, file in enumerate(files)],
                                 override_num_blocks=max(1, min(len(files) // 16, 200)))
    statistics = "statistics" in metadata
    tiles = listed.map_batches(lambda files: _tile_batch(files, tiling, config, statistics), batch_size=FILES_PER_TASK,
                               batch_format="numpy")
    scored = tiles.map_batches(_Scorer, fn_constructor_args=(_model_bytes(model, metadata), metadata, side),
                               batch_size=config.batch_size, batch_format="numpy",
                               compute=ray.data.ActorPoolStrategy(size=config.ray_actors))
    waiting: deque[Pending] = deque()
    batches = iter(scored.iter_batches(batch_size=None, batch_format="numpy"))
    while not (stop is not None and stop.is_set()):
        try:
            batch = next(batches, None)
        except Exception as error:  # noqa: BLE001 - a worker, an actor or a node lost: Ray raises many types
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise EngineFailed(f"the Ray run failed ({type(error).__name__}: {first})") from None
        if batch is None:
            yield from waiting
            return
        for artwork, real, probabilities in zip(batch["artwork"], batch["real"], batch["probabilities"]):
            if artwork:
                waiting.append(pickle.loads(artwork))
            if real:
                waiting[-1].tile_probabilities.append(probabilities)
                waiting[-1].received += 1
        while waiting and waiting[0].complete:
            yield waiting.popleft()


def _tile_batch(files: dict, tiling: TilingConfig, config: PredictConfig, statistics: bool) -> dict:
    """Files read into tile rows (a Ray task): each artwork (pickled, without its tiles) rides on its first tile's
    row; an unreadable file is one placeholder row that is not scored."""
    artworks, tiles, real = [], [], []
    for index, file in zip(files["index"], files["file"]):
        pending, pixels = read_for_tiles(int(index), Path(file), tiling, config, statistics)
        artworks += [pickle.dumps(pending)] + [b""] * (len(pixels) - 1)
        tiles += pixels or [np.zeros((tiling.tile_size, tiling.tile_size, 3), np.uint8)]
        real += [True] * len(pixels) or [False]
    return {"artwork": np.array(artworks, dtype=object), "tile": np.stack(tiles), "real": np.array(real)}


def _model_bytes(model: Any, metadata: dict) -> bytes:
    """The model as a .keras file's bytes, to load in each actor."""
    from artcnn.storage import save_model

    with tempfile.TemporaryDirectory() as folder:
        path = save_model(model, Path(folder) / "model.keras", metadata)
        return path.read_bytes()


class _Scorer:
    """A model actor: loads the model once, then scores batches of tile rows as the local engine does."""

    def __init__(self, model_file: bytes, metadata: dict, side: int):
        from artcnn.storage import load_model

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.keras"
            path.write_bytes(model_file)
            # The model was already loaded, as the user allowed, by the process that sent it.
            self.model, _ = load_model(path, safe_mode=False)
        self.classes = len(metadata["classes"])
        self.input_size = metadata.get("input_size") or side

    def __call__(self, batch: dict) -> dict:
        from artcnn.data import model_inputs
        from artcnn.evaluation import class_probabilities

        real = np.asarray(batch["real"], dtype=bool)
        probabilities = np.zeros((len(real), self.classes))
        if real.any():
            inputs = model_inputs(list(batch["tile"][real]), self.input_size)
            probabilities[real] = class_probabilities(self.model.predict_on_batch(inputs), self.classes)
        return {"artwork": batch["artwork"], "real": real, "probabilities": probabilities}
