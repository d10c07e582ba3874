"""The map of a 10,000-artwork collection from cached embeddings: how long until a page has the figure.

The embeddings are generated, not computed by a model (a model's pass over 10,000 artworks is the
classification, measured by classify_speed.py): clusters plus noise, non-negative like the output of
a ReLU and global average pooling, as wide as the `default` recipe's embedding (DEFAULT_WIDTHS[-1]).
They are written as a cache file and read back, then laid out (collection_map.layout: UMAP for a
collection this size) and drawn (collection_map.map_figure, Plotly scattergl), in this one fresh
process, so the figure includes importing umap-learn and numba compiling it on first use.

    python bench/collection_map.py [--count 10000]        (writes bench/results/collection_map.md)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import OUT, ROOT, cpu_model, cpu_seconds  # noqa: E402

BUDGET_SECONDS = 30.0
# Groups of alike artworks in the generated collection (styles, series, sources).
CLUSTERS = 12


def generated_embeddings(count: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """[count, width] non-negative embeddings in CLUSTERS groups, and [count, 2] probabilities that follow them."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(2.0, 1.0, size=(CLUSTERS, width))
    members = rng.integers(0, CLUSTERS, count)
    vectors = np.maximum(centres[members] + rng.normal(0.0, 0.6, size=(count, width)), 0.0).astype(np.float32)
    kom = 1.0 / (1.0 + np.exp(-(members % 2 * 2 - 1) * rng.gamma(3.0, 1.0, count)))
    return vectors, np.column_stack([1.0 - kom, kom])


def _timed(step):
    """(result, wall seconds, CPU seconds) of step()."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = step()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def benchmark(count: int, width: int, cache_file: Path, method: str | None = None) -> dict:
    """Seconds (wall, CPU) of each step from the cached embeddings to the figure: TensorFlow's import (which
    umap-learn's own import triggers; the app and the CLI have it loaded already to run the model), umap-learn's,
    reading the cache, the first layout (numba compiles umap on first use), the figure, and a second layout
    as a server that has made one map before makes the next."""
    vectors, probabilities = generated_embeddings(count, width)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, vectors=vectors, probabilities=probabilities,
             files=np.array([f"artwork_{index:05d}.jpg" for index in range(count)]))
    steps = {}
    _, *steps["import TensorFlow"] = _timed(lambda: __import__("tensorflow"))
    if method != "pca":
        _, *steps["import umap-learn"] = _timed(lambda: __import__("umap"))
    from artcnn.collection_map import CollectionMap, layout, map_columns, map_figure

    def read():
        with np.load(cache_file) as stored:
            return stored["vectors"], stored["probabilities"], [str(f) for f in stored["files"]]

    (vectors, probabilities, files), *steps["read the cache"] = _timed(read)
    (positions, used), *steps["first layout (numba compiles)"] = _timed(lambda: layout(vectors, method))
    classes = ["han", "kom"]

    def draw():
        table = pd.DataFrame({"x": positions[:, 0], "y": positions[:, 1], "file": files,
                              "label": np.where(probabilities[:, 1] >= 0.5, "kom", "han")})
        for index, name in enumerate(classes):
            table[f"p_{name}"] = probabilities[:, index]
        made = map_figure(CollectionMap(table=table[map_columns(classes)], classes=classes, method=used, errors={}))
        return made, len(made.to_json())

    (figure, size), *steps["Plotly scattergl figure and its JSON"] = _timed(draw)
    _, *steps["a later layout in the same process"] = _timed(lambda: layout(vectors, method))
    first_map = [name for name in steps if name not in ("import TensorFlow", "a later layout in the same process")]
    return {"count": count, "width": width, "method": used, "steps": steps,
            "first_map_seconds": sum(steps[name][0] for name in first_map),
            "later_map_seconds": sum(steps[name][0] for name in ("read the cache", "a later layout in the same process",
                                                                  "Plotly scattergl figure and its JSON")),
            "figure_megabytes": size / 2**20, "points": sum(len(trace.x) for trace in figure.data)}


def report(result: dict, command: str) -> str:
    load = os.getloadavg()[0]

    def verdict(seconds: float) -> str:
        return f"{'within' if seconds <= BUDGET_SECONDS else 'OVER'} the {BUDGET_SECONDS:.0f} s budget"

    rows = [f"| {name} | {wall:.2f} | {cpu:.2f} |" for name, (wall, cpu) in result["steps"].items()]
    return "\n".join([
        "# The map of 10,000 artworks from cached embeddings",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; load average {load:.1f} when it finished "
        f"(above {os.cpu_count()} the machine was shared and wall-clock times are longer than on an idle one; "
        "CPU seconds count what the work itself costs).",
        "",
        f"Embeddings: {result['count']:,} generated ones of width {result['width']} (the `default` recipe's "
        f"embedding width), {CLUSTERS} clusters plus noise, not computed by a model; see the script's docstring. "
        f"Layout: {result['method']}. Figure: {result['points']:,} points, "
        f"{result['figure_megabytes']:.1f} MB of JSON.",
        "",
        "| step | wall seconds | CPU seconds (all threads) |",
        "| --- | --- | --- |",
        *rows,
        "",
        f"- first map in a process that has TensorFlow loaded (import umap-learn, read, first layout, figure): "
        f"**{result['first_map_seconds']:.1f} s** wall, {verdict(result['first_map_seconds'])}",
        f"- a later map in the same process (read, layout, figure): **{result['later_map_seconds']:.1f} s** wall, "
        f"{verdict(result['later_map_seconds'])}",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    from artcnn.models import DEFAULT_WIDTHS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="artworks on the map (default %(default)s)")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTHS[-1], help="embedding width (default %(default)s)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "collection_map.md"))
    args = parser.parse_args(argv)
    result = benchmark(args.count, args.width, OUT / "collection_map" / "embeddings.npz")
    text = report(result, "python bench/collection_map.py" + "".join(f" {a}" for a in (argv or sys.argv[1:])))
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    print(f"collection_map_first_seconds: {result['first_map_seconds']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
