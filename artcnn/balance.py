"""Per-source balanced sampling of training tiles, so no single source dominates its class.

When one source makes up most of a class (Kandinsky is 479 of 870 hand-made artworks in our real
data), a model learns that source rather than the class, and misses the class's other sources.
Here, within each class, every source gets the same number of tiles (the class's own count split
evenly): a large source is subsampled, a small one keeps every tile and repeats some, drawn with a
seed. Each class keeps its tile count, so the classes' balance and the epoch's length stay as they were.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def balanced_by_source(files: Sequence[str], labels: Sequence[int], sources: Sequence[str | None],
                       seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`files` and `labels` resampled so that within each class every source has the same number of tiles
    (the class's count split evenly, the first sources by name taking one more when it does not divide),
    the class's total unchanged. A source with too few tiles keeps all of them and repeats some at random;
    a larger one gives a random subset. Tiles whose source is None (e.g. synthetic prior tiles) are kept
    as they are. Seeded by `seed`; the result is in the tiles' original order."""
    labels = np.asarray(labels, dtype=np.int64)
    if not len(files) == len(labels) == len(sources):
        raise ValueError("files, labels and sources must have the same length. "
                         f"Received: {len(files)} files, {len(labels)} labels, {len(sources)} sources")
    generator = np.random.default_rng(seed)
    has_source = np.array([source is not None for source in sources], dtype=bool)
    chosen = [np.flatnonzero(~has_source)]
    for label in np.unique(labels[has_source]):
        in_class = np.flatnonzero(has_source & (labels == label))
        names = sorted({sources[index] for index in in_class})
        share, extra = divmod(len(in_class), len(names))
        for order, name in enumerate(names):
            tiles = np.array([index for index in in_class if sources[index] == name])
            wanted = share + (order < extra)
            if len(tiles) >= wanted:
                chosen.append(generator.choice(tiles, size=wanted, replace=False))
            else:
                chosen.append(np.concatenate([tiles, generator.choice(tiles, size=wanted - len(tiles))]))
    order = np.sort(np.concatenate(chosen).astype(np.int64))
    return [files[index] for index in order], labels[order]
