"""Near-duplicate artworks by a perceptual hash of the whole picture (numpy and Pillow only).

The same work arrives twice in collections: a thumbnail and a full scan, a PNG and its JPEG. In a
dataset such copies on both sides of the split are a leak (the test then measures recognition of an
artwork already seen), and copies under two classes are a labelling conflict; in a classification
they are worth marking. A 64-bit DCT hash of a 32×32 grey reduction keeps only the picture's coarse
structure, so resizing and re-encoding change at most a few of its bits.
"""

from __future__ import annotations

from typing import Hashable, Mapping, Sequence, TypeVar

import numpy as np
from PIL import Image

# The hash is computed from a REDUCED_SIDE² grey picture's lowest HASH_SIDE² DCT frequencies.
REDUCED_SIDE = 32
HASH_SIDE = 8
# Hashes at most this many bits apart (of 64) are one artwork. Resized (down to a quarter) and JPEG
# re-encoded copies of 30 synthetic pictures differed by 0-4 bits; the unrelated pairs by 31 ± 4, the
# closest by 20 (each bit is the sign of a coefficient against the median: a fair coin), so 10 is more
# than 5 standard deviations below chance while leaving room for a stronger re-encoding.
DUPLICATE_DISTANCE = 10

# Below this (in grey levels × 32, the DCT's scale) no low frequency carries structure.
FEATURELESS = 1.0

Key = TypeVar("Key", bound=Hashable)


def _dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II basis: matrix @ signal @ matrix.T is the 2-D DCT of a square signal."""
    frequencies, positions = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    matrix = np.cos(np.pi * (2 * positions + 1) * frequencies / (2 * size)) * np.sqrt(2.0 / size)
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(REDUCED_SIDE)


def perceptual_hash(image: Image.Image) -> int | None:
    """The picture's 64-bit pHash: each bit says whether a low DCT frequency is above their median
    (the constant term left out, so overall brightness does not count). None for a featureless picture
    (one colour): its bits would be rounding noise, and a black and a white square are not one artwork."""
    grey = np.asarray(image.convert("L").resize((REDUCED_SIDE, REDUCED_SIDE), Image.Resampling.LANCZOS),
                      dtype=np.float64)
    low = (_DCT @ grey @ _DCT.T)[:HASH_SIDE, :HASH_SIDE].ravel()
    if np.abs(low[1:]).max() < FEATURELESS:
        return None
    bits = low > np.median(low[1:])
    return int(sum(1 << index for index, bit in enumerate(bits) if bit))


def hamming(first: int, second: int) -> int:
    """How many bits two hashes differ in."""
    return (first ^ second).bit_count()


def _distances(hashes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """[len(hashes), len(others)] Hamming distances of uint64 hashes."""
    return np.bitwise_count(hashes[:, None] ^ others[None, :])


def group_duplicates(hashes: Mapping[Key, int], max_distance: int = DUPLICATE_DISTANCE) -> list[list[Key]]:
    """Groups (of two or more) of keys whose hashes are linked by distances of at most `max_distance`,
    each group in the mapping's order, the groups by their first member."""
    if not 0 <= max_distance < 64:
        raise ValueError(f"max_distance must be in [0, 64). Received: max_distance={max_distance}")
    keys = list(hashes)
    values = np.array([hashes[key] for key in keys], dtype=np.uint64)
    parent = list(range(len(keys)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    # In blocks of rows, so that 10,000 artworks need 10,000 × block distances at a time, not 10⁸.
    block = 512
    for start in range(0, len(keys), block):
        close = _distances(values[start:start + block], values) <= max_distance
        for row, column in zip(*np.nonzero(close)):
            first, second = root(start + int(row)), root(int(column))
            if first != second:
                parent[max(first, second)] = min(first, second)
    members: dict[int, list[Key]] = {}
    for index, key in enumerate(keys):
        members.setdefault(root(index), []).append(key)
    return [group for _, group in sorted(members.items()) if len(group) > 1]


class DuplicateFinder:
    """Marks, as artworks stream past, each one that repeats an earlier one: `first_of` gives the
    earlier artwork's name, or None for a first appearance."""

    def __init__(self, max_distance: int = DUPLICATE_DISTANCE):
        self.max_distance = max_distance
        self._names: list[str] = []
        self._hashes = np.zeros(0, dtype=np.uint64)

    def first_of(self, name: str, image_hash: int | None) -> str | None:
        if image_hash is None:
            return None
        if len(self._names):
            distances = _distances(np.array([image_hash], dtype=np.uint64), self._hashes)[0]
            nearest = int(np.argmin(distances))
            if distances[nearest] <= self.max_distance:
                return self._names[nearest]
        self._names.append(name)
        self._hashes = np.append(self._hashes, np.uint64(image_hash))
        return None


def describe_groups(groups: Sequence[Sequence[str]], class_of: Mapping[str, str]) -> list[dict]:
    """Groups as dataset.json records them: {"files": [...], "classes": [the class of each file]}."""
    return [{"files": [str(file) for file in group], "classes": [class_of[str(file)] for file in group]}
            for group in groups]


def conflict_warnings(duplicates: Sequence[Mapping]) -> list[str]:
    """A sentence for each group of near-duplicates filed under more than one class."""
    return [
        "near-duplicate artworks filed under different classes (a labelling conflict; keep one class): "
        + ", ".join(f"{file} ({name})" for file, name in zip(group["files"], group["classes"]))
        for group in duplicates if len(set(group["classes"])) > 1
    ]
