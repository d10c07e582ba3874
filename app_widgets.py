"""Widgets and Streamlit glue that several pages share; the work itself is done by artcnn.

Each page engineer appends here; functions stay small and free of logic the core should have.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd
import streamlit as st

from artcnn.config import IMAGE_SUFFIXES
from artcnn.images import ArtworkError, is_image_path
from artcnn.storage import read_metadata
from artcnn.workspace import BUILTIN_MODELS, Workspace, best_model

ACCEPTED_UPLOADS = ", ".join((*IMAGE_SUFFIXES, ".zip"))


def progress_callback(label: str) -> Callable[[int, int | None, str], None]:
    """A new st.progress bar and the (done, total, current file) callback that fills it."""
    bar = st.progress(0.0, text=label)

    def update(done: int, total: int | None, current: str) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        bar.progress(fraction, text=f"{label}: {done}/{total or '?'} · {Path(current).name}")

    return update


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, numbered like the zip extractor does if that file exists already."""
    target = folder / name
    number = 2
    while target.exists():
        target = folder / f"{Path(name).stem} ({number}){Path(name).suffix}"
        number += 1
    return target


def save_uploads(files: Iterable, dest: Path) -> list[dict]:
    """Write st.file_uploader files into `dest`, unpacking zips (each into its own folder) with
    uploads.extract_zip. Returns what was left out, as [{"file": ..., "reason": ...}]."""
    from artcnn.uploads import extract_zip

    dest.mkdir(parents=True, exist_ok=True)
    skipped: list[dict] = []
    for upload in files:
        # Browsers send a bare name, but the name is untrusted: only its last part is used.
        name = Path(upload.name.replace("\\", "/")).name or "upload"
        if name.lower().endswith(".zip"):
            try:
                report = extract_zip(upload, _free_name(dest, Path(name).stem))
            except ValueError as error:
                skipped.append({"file": name, "reason": str(error)})
                continue
            skipped += [{"file": f"{name}: {entry['file']}", "reason": entry["reason"]} for entry in report.skipped]
        elif is_image_path(name):
            _free_name(dest, name).write_bytes(upload.getvalue())
        else:
            skipped.append({"file": name, "reason": f"not an image file or zip (accepted: {ACCEPTED_UPLOADS})"})
    return skipped


def show_skipped(skipped: Sequence[dict], what: str = "files") -> None:
    """The files left out, each with its reason (nothing when none were)."""
    if skipped:
        st.warning(f"{len(skipped)} {what} skipped; everything else was used.")
        st.dataframe(pd.DataFrame(list(skipped), columns=["file", "reason"]), hide_index=True)


def model_label(workspace: Workspace, path: Path) -> str:
    """A short, unique name for a model file: relative to the workspace or to the app's models/."""
    for root in (workspace.root, BUILTIN_MODELS.parent):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return str(path)


def model_picker(workspace: Workspace, label: str = "Model") -> Path | None:
    """A select box of every model, the best (highest test artwork accuracy) preselected."""
    choices: list[tuple[Path, dict]] = []
    for path in workspace.model_files():
        try:
            choices.append((path, read_metadata(path)))
        except (ValueError, OSError) as error:
            st.warning(f"Model {model_label(workspace, path)} cannot be read and is not listed: {error}")
    if not choices:
        st.info("There is no model yet: train one on the Train page.")
        return None

    def describe(position: int) -> str:
        path, metadata = choices[position]
        accuracy = ((metadata.get("metrics") or {}).get("artwork_accuracy") or {}).get("value")
        notes = [f"test artwork accuracy {accuracy:.0%}" if accuracy is not None else "no test metrics"]
        if metadata.get("synthetic"):
            notes.append("trained on SYNTHETIC demo data")
        return f"{model_label(workspace, path)} ({'; '.join(notes)})"

    position = st.selectbox(label, range(len(choices)), index=best_model([m for _, m in choices]),
                            format_func=describe)
    return choices[position][0]


@st.cache_data(max_entries=5000, show_spinner=False)
def thumbnail(path: str, modified: float) -> str | None:
    """A data-URL thumbnail for a table's image column (None if the file cannot be read); `modified` keys the cache."""
    from artcnn.overlay import thumbnail_data_url

    try:
        return thumbnail_data_url(path)
    except (ArtworkError, OSError):
        return None


def file_thumbnail(path: str) -> str | None:
    return thumbnail(path, os.path.getmtime(path)) if os.path.isfile(path) else None


def stored_results(rows: Iterable[dict]) -> list:
    """Catalogue result rows as prediction.ArtworkResult, for the same table and CSV as a live run."""
    from artcnn.prediction import ArtworkResult

    names = {field.name for field in dataclasses.fields(ArtworkResult)}
    return [ArtworkResult(**{key: value for key, value in row.items() if key in names}) for row in rows]


def results_csv(results: Sequence, classes: list[str], model: str) -> bytes:
    """The results as prediction.write_results_csv writes them, as bytes for st.download_button."""
    from artcnn.prediction import write_results_csv

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.csv"
        write_results_csv(results, path, classes, model)
        return path.read_bytes()
