"""Widgets and Streamlit glue that several pages share: progress bars, uploads, datasets and the model picker
(classification results are in app_results.py, the Train and Models pages' own parts in app_runs.py). The work
itself is done by artcnn; functions here stay small and free of logic the core should have.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import streamlit as st

from artcnn.config import IMAGE_SUFFIXES
from artcnn.images import is_image_path
from artcnn.progress import Progress, ProgressCallback
from artcnn.storage import read_metadata
from artcnn.workspace import Workspace

ACCEPTED_UPLOADS = ", ".join((*IMAGE_SUFFIXES, ".zip"))


def show_progress(bar, label: str, event: Progress | None) -> None:
    """Any task's `Progress` on an st.progress element: the bar from its fraction, the text from its text()."""
    if event is None:
        bar.progress(0.0, text=f"{label} · starting…")
    else:
        bar.progress(event.fraction or 0.0, text=f"{label} · {event.text()}")


def progress_callback(label: str, total: int | None = None) -> ProgressCallback:
    """A new st.progress bar and the callback that shows a task's events on it; `total` fills the bar
    of a task that cannot know its own (a streaming classification, counted by the page)."""
    bar = st.progress(0.0, text=label)

    def update(event: Progress) -> None:
        show_progress(bar, label, event if event.total is not None else dataclasses.replace(event, total=total))

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


def show_skipped(skipped: Sequence[dict], what: str = "files", root: str | os.PathLike | None = None,
                 built: bool = True) -> None:
    """The files left out, counted, with each one's reason in an expander (nothing when none were); a
    file under `root` is named from there, not by its server path. `built` False: the work failed."""
    if not skipped:
        return
    st.warning(f"{len(skipped)} {what} skipped; " + ("everything else was used." if built else "nothing was built."))

    def named(file: str) -> str:
        inside = root is not None and Path(file).is_absolute() and Path(file).is_relative_to(root)
        return str(Path(file).relative_to(root)) if inside else file

    with st.expander(f"The {len(skipped)} {what} skipped, with the reason for each"):
        st.dataframe(pd.DataFrame([{"file": named(entry["file"]), "reason": entry["reason"]} for entry in skipped],
                                  columns=["file", "reason"]), hide_index=True)


def show_dataset(dataset) -> None:
    """A dataset.Dataset: how it was cut, its tiles and artworks per split and class, a few tiles of each
    class, and the files it left out."""
    if dataset.synthetic:
        st.warning("This dataset is made of SYNTHETIC demo artworks (generated, not real art).")
    tiling = dataset.tiling
    placed = ("on a grid" if tiling.grid else f"{tiling.tiles_per_artwork} at random per artwork") + (
        " and a whole view" if tiling.whole_view else "")
    st.caption(f"Created {dataset.created or '?'} from `{dataset.source or '?'}` · {tiling.tile_size}-px tiles "
               f"{placed}, test fraction {tiling.test_fraction}, seed {tiling.seed} · "
               f"{dataset.blank_tiles_skipped} blank tiles skipped")
    st.dataframe(pd.DataFrame({f"{split} {kind}": values[split] for kind, values in
                               (("tiles", dataset.counts), ("artworks", dataset.artworks)) for split in values}
                              ).rename_axis("class"))
    for name in dataset.classes:
        tiles = sorted(dataset.path.glob(f"*/{name}/*.png"))[:8]
        st.markdown(f"**{name}**: a few tiles")
        if tiles:
            st.image([str(tile) for tile in tiles], width=96)
    show_skipped(dataset.skipped, "files", dataset.source or None)
    show_duplicates(dataset)


def offer_statistics_update(folder: Path) -> None:
    """For a dataset built before the artworks' current global statistics: why it matters, and a button that
    measures them again (statistics_update), its outcome shown once after the page redraws."""
    from artcnn.statistics_update import statistics_outdated, update_statistics

    try:
        damaged, outdated = False, statistics_outdated(folder)
    except ValueError as error:  # a damaged statistics.csv, which measuring again rewrites
        st.error(str(error))
        damaged = True
    if damaged or outdated:
        if not damaged:
            st.caption("This dataset was built before the artworks' current global statistics were recorded, so a "
                       "model trained on it would judge by its tiles alone. Measuring them again reads its artworks "
                       "where they were when it was built; its tiles and split stay as they are.")
        if st.button("Measure the statistics again"):
            try:
                measured = update_statistics(folder, progress=progress_callback("Measuring"))
            except ValueError as error:
                st.error(str(error))
            else:
                st.session_state.dataset_statistics_done = f"Global statistics of {measured} artworks measured again."
                st.rerun()
    if "dataset_statistics_done" in st.session_state:
        st.success(st.session_state.pop("dataset_statistics_done"))


def show_duplicates(dataset) -> None:
    """A dataset's near-duplicate groups: each under more than one class a labelling conflict to fix, the rest
    kept on one side of the split (no leak from training into the test), named from the dataset's source."""
    from artcnn.duplicates import conflict_warnings

    def named(file: str) -> str:
        inside = dataset.source and Path(file).is_relative_to(dataset.source)
        return str(Path(file).relative_to(dataset.source)) if inside else Path(file).name

    groups = [{**group, "files": [named(file) for file in group["files"]]} for group in dataset.duplicates]
    conflicts = conflict_warnings(groups)
    for sentence in conflicts:
        st.warning(sentence[0].upper() + sentence[1:] + ".")
    if len(groups) > len(conflicts):
        st.info(f"{len(groups) - len(conflicts)} groups of near-duplicate artworks (resized or re-encoded copies) "
                "under one class: each group is kept on one side of the split, so no copy leaks into the test.")


def show_shortcut_report(report) -> None:
    """shortcuts.check_shortcuts's findings and advice, in the Datasets page's terms."""
    if report.warns:
        # Blank lines around the heading, so neither list runs into it.
        st.warning("\n".join([*(f"- {finding}" for finding in report.findings), "", "**What to do**", "", *(
            f"- {item.text}" + (f" On this page: set **Resize longest side** (Tiling settings, above) to "
                                f"**{item.long_side}** and build the dataset again." if item.long_side else "")
            for item in report.advice)]))
    else:
        st.success(f"No shortcut: file properties alone reach {report.accuracy['value']:.0%} "
                   f"against {report.chance:.0%} by always answering the largest class.")


def model_picker(workspace: Workspace, label: str = "Model") -> Path | None:
    """A select box of every model, Workspace.default_model preselected (the user's own best finished model
    before the built-in demo); models trained on synthetic pictures only say so."""
    choices: list[tuple[Path, dict]] = []
    for path in workspace.model_files():
        try:
            choices.append((path, read_metadata(path)))
        except (ValueError, OSError) as error:
            st.warning(f"Model {workspace.describe_model(path, {}).label} cannot be read and is not listed: {error}")
    if not choices:
        st.info("There is no model yet: train one on the Train page.")
        return None

    def describe(position: int) -> str:
        path, metadata = choices[position]
        accuracy = ((metadata.get("metrics") or {}).get("artwork_accuracy") or {}).get("value")
        notes = [f"test artwork accuracy {accuracy:.0%}" if accuracy is not None else "no test metrics"]
        if metadata.get("synthetic"):
            notes.append("trained on SYNTHETIC demo data")
        return f"{workspace.describe_model(path, metadata).label} ({'; '.join(notes)})"

    paths = [path for path, _ in choices]
    preferred = workspace.default_model()
    position = st.selectbox(label, range(len(choices)), format_func=describe,
                            index=paths.index(preferred) if preferred in paths else 0)
    return choices[position][0]


def store_uploads(files: Iterable, root: Path) -> tuple[list[Path], list[dict]]:
    """st.file_uploader files kept once per content under `root` (uploads.store_upload; a zip unpacked once,
    beside it): the image files to classify, and what was left out as [{"file": ..., "reason": ...}], named
    as uploaded."""
    from artcnn.uploads import store_upload, unpack_upload

    inputs: list[Path] = []
    skipped: list[dict] = []
    for upload in files:
        name = Path(upload.name.replace("\\", "/")).name or "upload"
        if not (is_image_path(name) or name.lower().endswith(".zip")):
            skipped.append({"file": name, "reason": f"not an image file or zip (accepted: {ACCEPTED_UPLOADS})"})
            continue
        stored = store_upload(name, upload.getvalue(), root)
        if is_image_path(name):
            inputs.append(stored)
            continue
        try:
            report = unpack_upload(stored)
        except ValueError as error:
            skipped.append({"file": name, "reason": str(error).replace(str(stored), name)})
            continue
        inputs += report.files
        skipped += [{"file": f"{name}: {entry['file']}", "reason": entry["reason"]} for entry in report.skipped]
    return inputs, skipped
