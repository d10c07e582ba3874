"""Artworks → "train" or "test": a seeded, stratified split by artwork, near-duplicates kept together.

The split is by artwork, never by tile: tiles of one artwork on both sides would let a model score
well by recognising artworks instead of classes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np


def split_artworks(artworks: Mapping[str, Sequence[Path]], test_fraction: float, seed: int,
                   groups: Sequence[Sequence[Path]] = ()) -> dict[Path, str]:
    """Each artwork → "train" or "test", stratified per class, seeded, independent of input order.

    A class with at least two artworks (or `groups`) gets at least one on each side when test_fraction > 0.
    Each of `groups` (near-duplicates, duplicates.group_duplicates) goes to one side whole: within a class it
    is drawn as one unit, and a group spanning classes follows its first file's side.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1). Received: test_fraction={test_fraction}")
    split: dict[Path, str] = {}
    group_of = {Path(file): index for index, group in enumerate(groups) for file in group}
    for name in sorted(artworks):
        files = sorted({Path(file) for file in artworks[name]}, key=str)
        for file in files:
            if file in split:
                raise ValueError(f"{file} is listed under more than one class; an artwork needs one class.")
        units = _units(files, group_of)
        n_test = round(len(units) * test_fraction)
        if len(units) >= 2 and test_fraction > 0:
            n_test = min(max(n_test, 1), len(units) - 1)
        # Seeding per class by name keeps a class's split unchanged when other classes change.
        class_seed = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], 16)
        test = set(np.random.default_rng([seed, class_seed]).permutation(len(units))[:n_test].tolist())
        for index, unit in enumerate(units):
            for file in unit:
                split[file] = "test" if index in test else "train"
    for group in groups:
        members = sorted((Path(file) for file in group if Path(file) in split), key=str)
        for file in members[1:]:
            split[file] = split[members[0]]
    return split


def _units(files: list[Path], group_of: Mapping[Path, int]) -> list[list[Path]]:
    """A class's files as the units its split draws: a group's files together, in the first one's place."""
    units: list[list[Path]] = []
    unit_of_group: dict[int, list[Path]] = {}
    for file in files:
        if file not in group_of:
            units.append([file])
        elif group_of[file] in unit_of_group:
            unit_of_group[group_of[file]].append(file)
        else:
            unit_of_group[group_of[file]] = [file]
            units.append(unit_of_group[group_of[file]])
    return units

