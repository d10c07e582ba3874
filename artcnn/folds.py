"""Which source each artwork comes from, and the leave-sources-out folds built on them.

A random split keeps works of every artist on both sides, so a model can score well by knowing
the artists (or their image sizes) instead of how the works were made. Here every source of a
class that has others is left out once: the fold trains on the rest and tests the left-out
sources. A class with a single source (Kandinsky is the only hand-made source of our real data)
cannot be left out without leaving its class empty; its artworks are split into as many parts as
there are folds instead, and each fold tests one part, so each is scored once.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from artcnn.evaluation import source_of


@dataclass(frozen=True)
class Fold:
    # The sources left out, sorted by class then name (one unless folds were grouped).
    left_out: tuple[str, ...]
    # Artworks the fold tests: every artwork of the left-out sources and one part of each single-source class.
    test: frozenset[str]

    @property
    def name(self) -> str:
        """The left-out sources, as a person reads them: "alpha" or "alpha + beta"."""
        return " + ".join(self.left_out)


def read_sources_csv(path: str | os.PathLike) -> dict[str, str]:
    """`file` (or `artwork`) → `source` from a user's CSV; files are matched later by path or file name."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"sources CSV not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip().lower() for name in reader.fieldnames or []]
        key = "file" if "file" in columns else "artwork" if "artwork" in columns else None
        if key is None or "source" not in columns:
            raise ValueError(f"{path} needs a column `file` (or `artwork`) and a column `source`. "
                             f"Received columns: {', '.join(reader.fieldnames or []) or 'none'}")
        rows = [{name.strip().lower(): (value or "").strip() for name, value in row.items() if name} for row in reader]
    sources: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        if not row[key] or not row["source"]:
            raise ValueError(f"{path}, line {number}: both {key} and source must be filled in. Received: {row}")
        sources[row[key]] = row["source"]
    return sources


def assign_sources(artworks: list[str], sources: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each artwork's source: from `sources` (keyed by the artwork's path, resolved path or file name),
    else its filename prefix before the first "_" (evaluation.source_of)."""
    if not sources:
        return {artwork: source_of(artwork) for artwork in artworks}
    by_name: dict[str, str | None] = {}
    for key, source in sources.items():
        name = Path(key).name
        # A file name listed twice with different sources cannot decide for an artwork by name alone.
        by_name[name] = source if by_name.get(name, source) == source else None
    resolved = {str(Path(key).resolve()): source for key, source in sources.items()}
    assigned = {}
    for artwork in artworks:
        source = sources.get(artwork) or resolved.get(str(Path(artwork).resolve())) or by_name.get(Path(artwork).name)
        assigned[artwork] = source or source_of(artwork)
    return assigned


def plan_folds(artworks: pd.DataFrame, seed: int = 0, max_folds: int | None = None) -> list[Fold]:
    """Leave-sources-out folds for a table with columns artwork, class, source.

    One fold per source of every class that has several, or with `max_folds`, at most that many folds,
    each leaving out a group of sources: every such source is left out exactly once, and a fold never
    leaves out all sources of a class. Raises ValueError when no class has two sources.
    """
    missing = {"artwork", "class", "source"} - set(artworks.columns)
    if missing:
        raise ValueError(f"plan_folds needs columns artwork, class, source. Missing: {', '.join(sorted(missing))}")
    if max_folds is not None and max_folds < 2:
        raise ValueError(f"max_folds must be at least 2 (or None for one fold per source). Received: "
                         f"max_folds={max_folds}")
    classes_per_source = artworks.groupby("source")["class"].nunique()
    shared = sorted(classes_per_source.index[classes_per_source > 1])
    if shared:
        raise ValueError(f"source(s) {', '.join(shared)} have artworks in more than one class; a source must "
                         "belong to one class to be left out as a whole.")
    per_class = {name: sorted(group["source"].unique()) for name, group in artworks.groupby("class")}
    if not any(len(sources) > 1 for sources in per_class.values()):
        listing = "; ".join(f"{name}: {', '.join(sources)}" for name, sources in sorted(per_class.items()))
        raise ValueError(
            "leave-one-source-out needs a class with at least two sources, so that one can be left out while "
            f"the class is still learnt from the others. Received sources per class: {listing}. Name sources by "
            "filename prefix (<source>_<name>.jpg) or in a CSV with columns file, source."
        )
    groups = _group_sources(artworks, per_class, max_folds)
    parts: list[set[str]] = [set() for _ in groups]
    rng = np.random.default_rng(seed)
    for name, sources in sorted(per_class.items()):
        if len(sources) == 1:
            members = sorted(artworks.loc[artworks["class"] == name, "artwork"])
            for index, chunk in enumerate(np.array_split(rng.permutation(members), len(groups))):
                parts[index].update(chunk.tolist())
    return [Fold(left_out=tuple(group), test=frozenset(set(artworks.loc[artworks["source"].isin(group), "artwork"])
                                                       | part))
            for group, part in zip(groups, parts)]


def _group_sources(artworks: pd.DataFrame, per_class: dict[str, list[str]],
                   max_folds: int | None) -> list[list[str]]:
    """The left-out sources of each fold, in class then source order."""
    left_out = [source for _, sources in sorted(per_class.items()) if len(sources) > 1 for source in sources]
    if max_folds is None or max_folds >= len(left_out):
        return [[source] for source in left_out]
    sizes = artworks.groupby("source")["artwork"].nunique()
    groups: list[list[str]] = [[] for _ in range(max_folds)]
    artworks_in = [0] * max_folds
    for _, sources in sorted(per_class.items()):
        if len(sources) == 1:
            continue
        of_class = [0] * max_folds
        # Largest sources first, each into the fold with fewest of this class's sources, then fewest artworks:
        # a class's sources spread over the folds (so no fold leaves a class out whole, as max_folds ≥ 2),
        # and the folds test about as many artworks each.
        for source in sorted(sources, key=lambda name: (-sizes[name], name)):
            index = min(range(max_folds), key=lambda fold: (of_class[fold], artworks_in[fold], fold))
            groups[index].append(source)
            of_class[index] += 1
            artworks_in[index] += int(sizes[source])
    order = {source: position for position, source in enumerate(left_out)}
    return sorted((sorted(group, key=order.get) for group in groups), key=lambda group: order[group[0]])
