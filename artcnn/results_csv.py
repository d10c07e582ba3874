"""The results table: one row per artwork in fixed columns, written to CSV a flushed row at a time, and read back
to resume a run cut short (`classify --resume`): the files already in the CSV are skipped and the rest appended.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import pandas as pd

if TYPE_CHECKING:
    from artcnn.prediction import ArtworkResult


def _fields(classes: list[str]) -> list[str]:
    return ["file", "sha256", "width", "height", "used_width", "used_height", "tiles",
            *[f"p_{name}" for name in classes], "label", "confidence", "review"]


def _row(result: ArtworkResult, classes: list[str]) -> dict:
    if result.error is None and set(result.probabilities) != set(classes):
        # A column per class, each filled: results of another model would leave some empty or unwritten.
        raise ValueError(f"{result.file} was classified into {', '.join(sorted(result.probabilities))}, not into "
                         f"the classes of the table. Received: classes={list(classes)}")
    return {
        "file": result.file,
        "sha256": result.sha256,
        "width": result.width,
        "height": result.height,
        "used_width": result.used_width,
        "used_height": result.used_height,
        "tiles": result.tiles,
        **{f"p_{name}": result.probabilities.get(name) for name in classes},
        "label": result.label,
        "confidence": result.confidence,
        # An unreadable file has no verdict to review: its `error` is what to look at.
        "review": None if result.error else result.review,
        "duplicate_of": result.duplicate_of,
        "error": result.error,
        "note": result.note,
        **result.details,
    }


def write_results_csv(results: Iterable[ArtworkResult], path: str | os.PathLike, classes: list[str],
                      model_name: str, details: Sequence[str] = (), *, append: bool = False) -> int:
    """Write results as they arrive, one flushed row each, so a crash keeps every finished row.

    Columns: file, sha256, width, height (the file's own size), used_width, used_height (the size classified),
    tiles, p_<class>... (one for each of `classes`), label, confidence, review (True/False), model, error, note
    (what reading the file changed, e.g. a reduced picture), duplicate_of (the earlier file this artwork repeats),
    then the `details` columns (ArtworkResult.details).
    An empty cell is a value the row does not have: no probabilities or verdict for an unreadable file, no error
    for a readable one. Returns the number of rows written.
    `append` adds the rows to a CSV of these columns that finished_files has checked (and repaired).
    """
    columns = [*result_columns(classes), *details]
    rows = 0
    with open(path, "a" if append else "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        if not append:
            writer.writeheader()
        handle.flush()
        for result in results:
            row = _row(result, classes)
            writer.writerow({**{key: f"{value:.6f}" if isinstance(value, float) else value
                                for key, value in row.items()}, "model": model_name})
            handle.flush()
            rows += 1
    return rows


def result_columns(classes: list[str]) -> list[str]:
    """The results CSV's own columns, before any details."""
    return [*_fields(classes), "model", "error", "note", "duplicate_of"]


def results_to_frame(results: Iterable[ArtworkResult], classes: list[str], details: Sequence[str] = ()) -> pd.DataFrame:
    """Results as a table with the CSV's columns (without `model`)."""
    return pd.DataFrame([_row(result, classes) for result in results],
                        columns=[*_fields(classes), "error", "note", "duplicate_of", *details])


def finished_files(path: str | os.PathLike, columns: Sequence[str]) -> set[str]:
    """The `file` of every row of a results CSV written earlier with these columns, to skip when resuming.

    A missing or empty file has none. A last row cut off mid-line (the run was killed while writing it) is
    removed, so that its file is classified again. A CSV of other columns (another model's classes, other
    details) is refused with a ValueError naming it: appending to it would mix two tables.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return set()
    content = path.read_bytes()
    if not content.endswith(b"\n"):
        # Truncated in place (not rewritten): everything before the cut line is kept as it is.
        with open(path, "r+b") as handle:
            handle.truncate(content.rfind(b"\n") + 1)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        found = list(reader.fieldnames or [])
        if found != list(columns):
            raise ValueError(f"{path.name} has other columns than this run would write, so it cannot be resumed "
                             f"(write to a new file instead). Received: columns={found}, expected={list(columns)}")
        return {row["file"] for row in reader}
