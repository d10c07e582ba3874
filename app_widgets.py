"""Widgets and Streamlit glue that several pages share; the work itself is done by artcnn.

Each page engineer appends here; functions stay small and free of logic the core should have.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import streamlit as st

from artcnn.config import IMAGE_SUFFIXES
from artcnn.images import ArtworkError, is_image_path
from artcnn.progress import Progress, ProgressCallback
from artcnn.storage import read_metadata
from artcnn.workspace import Workspace, best_model

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


def show_skipped(skipped: Sequence[dict], what: str = "files") -> None:
    """The files left out, each with its reason (nothing when none were)."""
    if skipped:
        st.warning(f"{len(skipped)} {what} skipped; everything else was used.")
        st.dataframe(pd.DataFrame(list(skipped), columns=["file", "reason"]), hide_index=True)


def show_dataset(dataset) -> None:
    """A dataset.Dataset: how it was cut, its tiles and artworks per split and class, a few tiles of each
    class, and the files it left out."""
    if dataset.synthetic:
        st.warning("This dataset is made of SYNTHETIC demo artworks (generated, not real art).")
    tiling = dataset.tiling
    placed = "on a grid" if tiling.grid else f"{tiling.tiles_per_artwork} at random per artwork"
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
    show_skipped(dataset.skipped, "files")


def show_shortcut_report(report) -> None:
    """shortcuts.check_shortcuts's findings and advice, in the Datasets page's terms."""
    if report.warns:
        st.warning("\n- ".join(report.findings) + "\n\n**What to do**\n" + "".join(
            f"\n- {item.text}" + (f" Here: set *Resize longest side* to {item.long_side} and build the dataset "
                                  "again." if item.long_side else "") for item in report.advice))
    else:
        st.success(f"No shortcut: file properties alone reach {report.accuracy['value']:.0%} "
                   f"against {report.chance:.0%} by always answering the largest class.")


def model_picker(workspace: Workspace, label: str = "Model") -> Path | None:
    """A select box of every model, the best (highest test artwork accuracy) preselected."""
    choices: list[tuple[Path, dict]] = []
    for path in workspace.model_files():
        try:
            choices.append((path, read_metadata(path)))
        except (ValueError, OSError) as error:
            st.warning(f"Model {workspace.describe_model(path).label} cannot be read and is not listed: {error}")
    if not choices:
        st.info("There is no model yet: train one on the Train page.")
        return None

    def describe(position: int) -> str:
        path, metadata = choices[position]
        accuracy = ((metadata.get("metrics") or {}).get("artwork_accuracy") or {}).get("value")
        notes = [f"test artwork accuracy {accuracy:.0%}" if accuracy is not None else "no test metrics"]
        if metadata.get("synthetic"):
            notes.append("trained on SYNTHETIC demo data")
        return f"{workspace.describe_model(path).label} ({'; '.join(notes)})"

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


def show_result_picture(result, classes: list[str]) -> None:
    """One classified artwork with its tiles' probabilities drawn over it, or why it cannot be shown."""
    from artcnn.images import load_artwork
    from artcnn.overlay import draw_tile_probabilities

    st.subheader(Path(result.file).name)
    if result.error:
        st.error(f"{result.file} could not be classified: {result.error}")
        return
    try:
        picture = draw_tile_probabilities(load_artwork(result.file), result.tile_boxes, classes)
    except (ArtworkError, ValueError, OSError) as error:
        st.warning(f"The artwork cannot be shown with its tiles any more: {error}")
        return
    verdict = ", ".join(f"{name} {p:.0%}" for name, p in result.probabilities.items())
    st.image(picture, caption=f"{result.label} ({verdict}) · {result.tiles} tiles, each tinted in its likelier "
                              "class's colour, stronger when surer")


# --- Train and Models pages: background jobs, run curves and test metrics ---------------------------


def run_state(jobs, name: str, status: dict) -> str:
    """A run's state to show: its status.json state, or "interrupted" when whatever trained it has died."""
    from artcnn.training import is_interrupted

    running_here = jobs.training(name) is not None
    return "interrupted" if is_interrupted(status, running_here) else status.get("state", "?")


def history_figure(history: Sequence[dict]):
    """Plotly curves of loss and accuracy per epoch, train (solid) against test (dashed)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    epochs = [row["epoch"] for row in history]
    for column, metric in enumerate(("loss", "accuracy"), start=1):
        for key, split, colour, dash in ((metric, "train", "#1f77b4", "solid"),
                                         (f"val_{metric}", "test", "#d62728", "dash")):
            figure.add_trace(go.Scatter(x=epochs, y=[row.get(key) for row in history], name=split, legendgroup=split,
                                        showlegend=column == 1, mode="lines+markers",
                                        line={"color": colour, "dash": dash}), row=1, col=column)
    figure.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 20 else None)
    figure.update_layout(height=300, margin={"t": 30, "b": 10, "l": 10, "r": 10})
    return figure


def show_curves(history: Sequence[dict], key: str) -> None:
    """The run's curves, or a note while its first epoch is still training."""
    if history:
        st.plotly_chart(history_figure(history), key=key)
    else:
        st.caption("The curves appear when the first epoch ends.")


def show_metrics(metrics: dict | None) -> None:
    """Test accuracy of tiles and of whole artworks with 95% intervals, ROC AUC, confusion matrices."""
    if not metrics:
        st.info("No test metrics: the run has not finished, or its dataset has no test split.")
        return
    columns = st.columns(3)
    for column, level in zip(columns, ("tile", "artwork")):
        accuracy = metrics[f"{level}_accuracy"]
        column.metric(f"Test accuracy, {level}s", f"{accuracy['value']:.1%}")
        column.caption(f"95% interval {accuracy['low']:.1%} – {accuracy['high']:.1%} "
                       f"({accuracy['correct']} of {accuracy['total']} {level}s)")
    auc = metrics.get("roc_auc")
    columns[2].metric("ROC AUC, artworks", "–" if auc is None else f"{auc:.3f}")
    classes = metrics["classes"]
    for column, level in zip(st.columns(2), ("tile", "artwork")):
        column.caption(f"Confusion matrix, {level}s (rows: true class, columns: predicted)")
        column.dataframe(pd.DataFrame(metrics[f"{level}_confusion"], index=[f"true {name}" for name in classes],
                                      columns=[f"predicted {name}" for name in classes]))


def show_misclassified(metrics: dict | None, dataset_dir: Path, limit: int = 20) -> None:
    """The misclassified test artworks, each with its tiles from the dataset and their probabilities."""
    wrong = (metrics or {}).get("misclassified") or []
    if metrics and not wrong:
        st.success("Every test artwork was classified correctly.")
    for item in wrong[:limit]:
        predicted = item["predicted"]
        with st.expander(f"{Path(item['artwork']).name}: {item['true']}, predicted {predicted} "
                         f"(p = {item['probabilities'][predicted]:.2f})"):
            tiles = [tile for tile in item["tiles"] if (dataset_dir / tile["tile"]).is_file()]
            if not tiles:
                st.caption(f"Its tiles are no longer in {dataset_dir}.")
                continue
            st.image([str(dataset_dir / tile["tile"]) for tile in tiles], width=96,
                     caption=[f"p({predicted}) {tile['probabilities'][predicted]:.2f}" for tile in tiles])
    if len(wrong) > limit:
        st.caption(f"… and {len(wrong) - limit} more.")


def show_running_jobs(jobs) -> None:
    """Every job running on this server, with its progress bar and a Stop button."""
    for job in jobs.running():
        show_progress(st.empty(), job.name, job.latest)
        st.button(f"Stop {job.name}", key=f"stop {job.name}", on_click=job.stop,
                  help="Stops at the next batch; the checkpoint of the last finished epoch is kept.")


def report_ended_jobs(jobs, names: list[str]) -> None:
    """Once per job in `names` that has ended: its error, or the file it saved; then forget it."""
    for name in list(names):
        job = jobs.get(name)
        if job is not None and job.running:
            continue
        names.remove(name)
        if job is not None and job.error:
            st.error(f"{name} failed: {job.error}")
        elif job is not None and isinstance(job.result, Path):
            st.success(f"Saved {job.result.name}: choose it on the Classify page, download it on the Models page.")


# The Train page's settings, kept in st.session_state under these keys, one per TrainConfig field shown.
TRAINING_FORM = {"recipe": "train_recipe", "epochs": "train_epochs", "batch_size": "train_batch",
                 "test_batch_size": "train_test_batch", "learning_rate": "train_lr", "dropout": "train_dropout",
                 "augment": "train_augment", "seed": "train_seed", "weights": "train_weights"}


def training_form() -> None:
    """The widgets of a TrainConfig, each starting at the config's default; None numbers mean the recipe's."""
    from artcnn.config import TrainConfig
    from artcnn.models import recipe_descriptions

    defaults, notes, key = TrainConfig(), recipe_descriptions(), TRAINING_FORM
    recipe = st.selectbox("Recipe", list(notes), index=list(notes).index(defaults.recipe), key=key["recipe"],
                          format_func=lambda name: f"{name}: {notes[name]}")
    numbers = st.columns(4)
    numbers[0].number_input("Epochs", 1, 500, defaults.epochs, key=key["epochs"], placeholder="recipe's")
    numbers[1].number_input("Batch size", 1, 1024, defaults.batch_size, key=key["batch_size"], placeholder="recipe's")
    numbers[2].number_input("Test batch size", 1, 1024, defaults.test_batch_size, key=key["test_batch_size"],
                            placeholder="recipe's")
    numbers[3].number_input("Learning rate", 1e-6, 1.0, defaults.learning_rate, step=1e-4, format="%.5f",
                            key=key["learning_rate"], placeholder="recipe's")
    switches = st.columns(3)
    switches[0].checkbox("Dropout", defaults.dropout, key=key["dropout"],
                         help="The study's first switch: the recipe's dropout layers.")
    switches[1].checkbox("Rotation augmentation", defaults.augment, key=key["augment"],
                         help="The study's second switch: the recipe's random rotations of the training tiles.")
    switches[2].number_input("Seed", 0, 2**31 - 1, defaults.seed, key=key["seed"])
    if recipe == "vgg16":
        st.text_input("VGG16 weights", defaults.weights or "none", key=key["weights"], help="A weights file on the "
                      "server (…_notop.h5), imagenet (Keras' cache, or a download) or none (random weights).")


def training_form_config():
    """The TrainConfig that training_form's widgets hold; a setting not shown (VGG16 weights for another
    recipe) keeps its default."""
    from artcnn.config import TrainConfig

    given = {field: st.session_state[key] for field, key in TRAINING_FORM.items() if key in st.session_state}
    if isinstance(given.get("weights"), str):
        weights = given["weights"].strip()
        given["weights"] = None if weights == "none" else weights or TrainConfig().weights
    return TrainConfig(**{**given, "seed": int(given.get("seed", TrainConfig().seed))})


def model_entries(workspace: Workspace, jobs) -> dict[str, dict]:
    """Every run and every other model file, by the label the Models page lists it under, with what its
    table and details show; a model file that cannot be read is named in a warning and left out."""
    from artcnn import training
    from artcnn.dataset import read_description

    entries: dict[str, dict] = {}
    for name in workspace.run_names():
        record = training.read_run(workspace.run_dir(name))
        try:
            synthetic = read_description(record["config"]["dataset"]).synthetic
        except ValueError:  # the dataset was deleted since; the run's model still says
            synthetic = False
        entries[f"run · {name}"] = {
            "name": name, "kind": "run", "path": record["model_path"], "record": record, "card": None,
            "running": jobs.training(name) is not None, "state": run_state(jobs, name, record["status"]),
            "recipe": record["config"]["recipe"]["name"], "dataset": Path(record["config"]["dataset"]).name,
            "epochs": len(record["history"]), "metrics": record["metrics"] or {}, "synthetic": synthetic}
    for path in workspace.model_files():
        if workspace.describe_model(path).origin == "run":
            continue  # listed with its run
        try:
            metadata = read_metadata(path)
        except (ValueError, OSError) as error:
            st.warning(f"Model {workspace.describe_model(path).label} cannot be read and is not listed: {error}")
            continue
        info = workspace.describe_model(path, metadata)
        builtin = info.origin == "built-in"
        entries[f"{'built-in' if builtin else 'model'} · {path.name}"] = {
            "name": path.name, "kind": "built-in model" if builtin else "saved model", "path": path, "record": None,
            "card": info.card, "recipe": metadata.get("recipe"), "dataset": metadata.get("description", ""),
            "state": "saved", "epochs": None, "metrics": metadata.get("metrics") or {}, "synthetic": info.synthetic,
            "running": False}
    return entries


def accuracy_text(metrics: dict, level: str) -> str:
    """A test accuracy with its 95% interval, e.g. "91.2% (85%–95%)"; empty without metrics."""
    value = metrics.get(f"{level}_accuracy")
    return f"{value['value']:.1%} ({value['low']:.0%}–{value['high']:.0%})" if value else ""


def run_comparison(entry: dict) -> pd.DataFrame:
    """One run's settings and results as a column, to set beside another run's."""
    record = entry["record"]
    recipe, train, metrics = record["config"]["recipe"], record["config"]["train"], entry["metrics"]
    return pd.DataFrame({"": [
        recipe["name"], entry["dataset"], entry["state"], entry["epochs"], recipe["learning_rate"],
        f"{recipe['batch_size']}/{recipe['test_batch_size']}", train["dropout"], train["augment"],
        accuracy_text(metrics, "tile"), accuracy_text(metrics, "artwork"), metrics.get("roc_auc"),
        sum(row["seconds"] or 0 for row in record["history"]),
    ]}, index=["recipe", "data", "state", "epochs", "learning rate", "batch", "dropout", "augmentation",
               "test tiles (95%)", "test artworks (95%)", "ROC AUC", "training seconds"]).astype(str)


def show_study_tables(workspace: Workspace) -> None:
    """Each reproduction of the study's four configurations in the workspace, beside its published figures."""
    from artcnn import study

    prefixes = study.study_prefixes(workspace.run_names())
    if not prefixes:
        return
    st.subheader("The study's four configurations")
    prefix = st.selectbox("Reproduction", prefixes, key="study_pick")
    st.dataframe(study.study_table(workspace.root / "runs", prefix), hide_index=True)
    st.caption("study %: the published test accuracy on tiles. Ours: on tiles and on whole artworks, with 95% "
               "intervals, on a test split by artwork (no artwork on both sides, which the study did not ensure).")
