"""What every benchmark shares: the machine it ran on, medians of repeated timings, the float32
matmul peak that training speed is measured against, and a synthetic collection to run on.

Benchmarks run as scripts (`python bench/<name>.py`) from a fresh clone, so each puts the repo
root on sys.path itself before importing artcnn.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (platform's guess elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """One line naming the machine and software a figure was measured on."""
    import tensorflow as tf

    memory = ""
    try:
        kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return (f"{cpu_model()}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}")


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median needs at least one value. Received: values=[]")
    return float(statistics.median(values))


def timed(function: Callable[[], object]) -> float:
    """Seconds one call takes (wall clock)."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def matmul_peak(dtype: str = "float32", size: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of the best of `repeats` size×size matmuls: the practical peak training is measured against."""
    import tensorflow as tf

    if size < 64 or repeats < 1:
        raise ValueError(f"size must be at least 64 and repeats at least 1. Received: size={size}, repeats={repeats}")
    a = tf.random.uniform((size, size), dtype=tf.float32)
    b = tf.random.uniform((size, size), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)
    multiply = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y)[0, 0], tf.float32)))
    multiply(a, b).numpy()  # trace and warm up
    best = min(timed(lambda: multiply(a, b).numpy()) for _ in range(repeats))
    return 2.0 * size**3 / best


def demo_collection(folder: Path, per_class: int, seed: int = 0) -> Path:
    """A synthetic han/kom collection in `folder`, made once and reused (its marker file says it is complete)."""
    import shutil

    from artcnn.demo import make_demo_collection
    from artcnn.tiling import SYNTHETIC_MARKER

    folder = Path(folder)
    if not (folder / SYNTHETIC_MARKER).is_file():
        # A folder without the marker is an interrupted earlier attempt of ours.
        shutil.rmtree(folder, ignore_errors=True)
        make_demo_collection(folder, per_class, seed)
    return folder


def demo_dataset(folder: Path, per_class: int, tiles_per_artwork: int = 10, seed: int = 0) -> Path:
    """A dataset folder of 256-px tiles cut from a synthetic collection (made once, then reused)."""
    from artcnn.config import TilingConfig
    from artcnn.tiling import build_dataset

    folder = Path(folder)
    dataset = folder / f"dataset_{per_class}x{tiles_per_artwork}_s{seed}"
    if not (dataset / "manifest.csv").is_file():
        artworks = demo_collection(folder / f"artworks_{per_class}_s{seed}", per_class, seed)
        build_dataset(artworks, dataset, TilingConfig(tiles_per_artwork=tiles_per_artwork, seed=seed), overwrite=True)
    return dataset
