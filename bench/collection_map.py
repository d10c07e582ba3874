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


def benchmark(count: int, width: int, cache_file: Path, method: str | None = None) -> dict:
    """Seconds (wall and CPU) to read the cached embeddings, lay them out and build the figure."""
    vectors, probabilities = generated_embeddings(count, width)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, vectors=vectors, probabilities=probabilities,
             files=np.array([f"artwork_{index:05d}.jpg" for index in range(count)]))

    wall, cpu = time.perf_counter(), cpu_seconds()
    from artcnn.collection_map import CollectionMap, layout, map_columns, map_figure

    with np.load(cache_file) as stored:
        vectors, probabilities, files = stored["vectors"], stored["probabilities"], [str(f) for f in stored["files"]]
    loaded = time.perf_counter()
    positions, used = layout(vectors, method)
    laid_out = time.perf_counter()
    classes = ["han", "kom"]
    table = pd.DataFrame({"x": positions[:, 0], "y": positions[:, 1], "file": files,
                          "label": np.where(probabilities[:, 1] >= 0.5, "kom", "han")})
    for index, name in enumerate(classes):
        table[f"p_{name}"] = probabilities[:, index]
    figure = map_figure(CollectionMap(table=table[map_columns(classes)], classes=classes, method=used, errors={}))
    figure_json = figure.to_json()
    done = time.perf_counter()
    return {"count": count, "width": width, "method": used, "read_seconds": loaded - wall,
            "layout_seconds": laid_out - loaded, "figure_seconds": done - laid_out, "total_seconds": done - wall,
            "cpu_seconds": cpu_seconds() - cpu, "figure_megabytes": len(figure_json) / 2**20,
            "points": sum(len(trace.x) for trace in figure.data)}


def report(result: dict, command: str) -> str:
    load = os.getloadavg()[0]
    verdict = "within" if result["total_seconds"] <= BUDGET_SECONDS else "OVER"
    return "\n".join([
        "# The map of 10,000 artworks from cached embeddings",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; load average {load:.1f} when it finished "
        f"(above {os.cpu_count()} the machine was shared and wall-clock times are longer than on an idle one).",
        "",
        f"Embeddings: {result['count']:,} generated ones of width {result['width']} (the `default` recipe's "
        f"embedding width), {CLUSTERS} clusters plus noise, not computed by a model; see the script's docstring.",
        "",
        "| step | seconds |",
        "| --- | --- |",
        f"| read the cache | {result['read_seconds']:.2f} |",
        f"| layout ({result['method']}, including importing umap-learn and numba compiling it) | "
        f"{result['layout_seconds']:.1f} |",
        f"| Plotly scattergl figure and its JSON ({result['figure_megabytes']:.1f} MB, {result['points']:,} points) | "
        f"{result['figure_seconds']:.2f} |",
        f"| **total** (wall clock) | **{result['total_seconds']:.1f}** ({verdict} the {BUDGET_SECONDS:.0f} s budget) |",
        f"| CPU seconds, all threads | {result['cpu_seconds']:.1f} |",
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
    print(f"collection_map_seconds: {result['total_seconds']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
