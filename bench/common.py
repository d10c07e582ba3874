"""What every benchmark shares: the machine it ran on, medians of repeated timings, the float32
matmul peak that training speed is measured against, and synthetic collections and models to run on.

Benchmarks run as scripts (`python bench/<name>.py`) from a fresh clone, so each puts the repo
root on sys.path itself before importing artcnn.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence, TypeVar

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
T = TypeVar("T")


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


def cpu_seconds() -> float:
    """CPU time (user + system, all threads) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(function: Callable[[], T]) -> tuple[T, float, float]:
    """A call's result, wall-clock seconds and CPU seconds. On a machine shared with other jobs the wall
    time grows with their load while the CPU time stays close to the work done."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def percent_with_interval(accuracy: dict) -> str:
    """An accuracy dict (value, low, high, correct, total) as "87.60 [86.3, 88.8] (2225/2540)"."""
    return (f"{100 * accuracy['value']:.2f} [{100 * accuracy['low']:.1f}, {100 * accuracy['high']:.1f}] "
            f"({accuracy['correct']}/{accuracy['total']})")


def duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s"


def matmul_peak(dtype: str = "float32", size: int = 2048, repeats: int = 10) -> tuple[float, float]:
    """The practical peak training is measured against: FLOP/s of the fastest of `repeats` size×size
    matmuls, by wall clock and per CPU-second (the latter barely moved by other jobs on the machine)."""
    import tensorflow as tf

    if size < 64 or repeats < 1:
        raise ValueError(f"size must be at least 64 and repeats at least 1. Received: size={size}, repeats={repeats}")
    a = tf.cast(tf.random.uniform((size, size)), dtype)
    b = tf.cast(tf.random.uniform((size, size)), dtype)
    multiply = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y)[0, 0], tf.float32)))
    multiply(a, b).numpy()  # trace and warm up
    timings = [measured(lambda: multiply(a, b).numpy())[1:] for _ in range(repeats)]
    flops = 2.0 * size**3
    return flops / min(wall for wall, _ in timings), flops / min(cpu for _, cpu in timings)


def linked_collection(folder: Path, chosen: Mapping[str, Iterable[Path]]) -> Path:
    """`folder` with one sub-folder per class of links to its chosen files (a part of a real collection to run on
    without copying it); links already there are kept."""
    for name, files in chosen.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            link = folder / name / Path(file).name
            if not link.exists():
                link.symlink_to(Path(file).resolve())
    return folder


def demo_collection(folder: Path, per_class: int, seed: int = 0) -> Path:
    """A synthetic han/kom collection in `folder`, made once and reused (its marker file says it is complete)."""
    import shutil

    from artcnn.demo import make_demo_collection
    from artcnn.dataset_build import SYNTHETIC_MARKER

    folder = Path(folder)
    if not (folder / SYNTHETIC_MARKER).is_file():
        # A folder without the marker is an interrupted earlier attempt of ours.
        shutil.rmtree(folder, ignore_errors=True)
        make_demo_collection(folder, per_class, seed)
    return folder


def demo_dataset(folder: Path, per_class: int, tiles_per_artwork: int = 10, seed: int = 0) -> Path:
    """A dataset folder of 256-px tiles cut from a synthetic collection (made once, then reused)."""
    from artcnn.config import TilingConfig
    from artcnn.dataset_build import build_dataset

    folder = Path(folder)
    dataset = folder / f"dataset_{per_class}x{tiles_per_artwork}_s{seed}"
    if not (dataset / "manifest.csv").is_file():
        artworks = demo_collection(folder / f"artworks_{per_class}_s{seed}", per_class, seed)
        tiling = TilingConfig(tiles_per_artwork=tiles_per_artwork, seed=seed, whole_view=False)
        build_dataset(artworks, dataset, tiling, overwrite=True)
    return dataset


def benchmark_model(recipe: str, path: Path, tile_size: int = 256) -> Path:
    """A freshly initialised model of `recipe`, for tiles of `tile_size`, saved with artcnn metadata (made
    once, then reused). Its weights are random: speed and memory do not depend on them, and no benchmark
    quotes its verdicts.
    """
    from artcnn import models
    from artcnn.config import TilingConfig, TrainConfig, to_dict
    from artcnn.storage import save_model

    path = Path(path)
    if not path.is_file():
        recipe_config = models.resolve_recipe(TrainConfig(recipe=recipe, weights=None))
        model = models.create_model(recipe_config, 2, seed=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(model, path, {"classes": ["han", "kom"], "input_size": recipe_config.input_size,
                                 "tiling": to_dict(TilingConfig(tile_size=tile_size, whole_view=False)),
                                 "recipe": recipe, "metrics": {},
                                 "synthetic": True, "description": f"untrained {recipe} model for benchmarks"})
    return path
