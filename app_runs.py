"""What the Train and Models pages share: the training form, background jobs, run curves and test metrics,
and the list of runs and models; the work itself is done by artcnn."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd
import streamlit as st

from app_state import kept
from app_widgets import show_progress
from artcnn.storage import read_metadata
from artcnn.workspace import Workspace


def run_state(jobs, name: str, status: dict) -> str:
    """A run's state to show: its status.json state, or "interrupted" when whatever trained it has died."""
    from artcnn.run_folder import is_interrupted

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
    from artcnn.run_report import near_chance

    if not metrics:
        st.info("No test metrics: the run has not finished, or its dataset has no test split.")
        return
    if near_chance(metrics):
        st.warning(near_chance(metrics))
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


def run_progress_text(jobs, name: str, record: dict, runs_dir: Path) -> str:
    """A run's one state: while a job trains it, the job's phase with an estimate of the training time left
    (from its epochs so far, or before the first ends from the workspace's earlier runs); else its state."""
    from artcnn.dataset import read_description
    from artcnn.fitting import TrainingStep
    from artcnn.run_report import duration_text, phase, seconds_per_tile, time_left

    status, recipe, job = record["status"], record["config"]["recipe"], jobs.training(name)
    state = run_state(jobs, name, status)
    if state != "running" or job is None:
        return f"{state}, epoch {status.get('epoch')} of {status.get('epochs')}"
    text = phase(job.latest)
    if text.startswith("evaluating"):
        return text
    try:
        rate = seconds_per_tile(runs_dir, recipe["name"], recipe["input_size"])
        per_epoch = rate * read_description(record["config"]["dataset"]).tiles if rate else None
    except ValueError:
        per_epoch = None
    step = job.latest.payload if job.latest and isinstance(job.latest.payload, TrainingStep) else None
    left = time_left(record["history"], step, recipe["epochs"], per_epoch)
    return text + (f" · {duration_text(left)} of training left (estimate)" if left is not None
                   else " · the time left shows when the first epoch ends")


def settings_text(config: dict) -> str:
    """A run's data and settings, as its config.json records them, in one line of Markdown."""
    recipe, epochs, train = config["recipe"], config["recipe"]["epochs"], config["train"]
    return (f"dataset `{Path(config['dataset']).name}` ({', '.join(config['classes'])}) · recipe **{recipe['name']}**"
            f" · {epochs} epoch{'s' if epochs != 1 else ''} · {recipe['input_size']}-px inputs · "
            f"{recipe['optimizer']} lr {recipe['learning_rate']:g} · batch {recipe['batch_size']}/"
            f"{recipe['test_batch_size']} · dropout {'on' if recipe['dropout'] else 'off'} · rotation "
            f"{recipe['rotation_deg']:g}° · seed {config['train']['seed']}"
            + (f" · prior {train['prior_ratio']:g} to {train['prior_class']}" if train.get("prior_ratio") else "")
            + (" · sources balanced" if train.get("balance_sources") else "")
            + (f" · {recipe['drawn_ratio']:g} synthetic drawings per {train['drawn_class']} artwork"
               if recipe.get("drawn_ratio") else "")
            + (f" · verdict {recipe['statistics_weight']:.0%} global statistics" if recipe.get("statistics_weight")
               else "")
            + (f", their head also fitted on {recipe['head_drawn_ratio']:g} synthetic ink drawings per "
               f"{train['drawn_class']} and {recipe['head_prior_ratio']:g} generative pictures per "
               f"{train['prior_class']} artwork" if recipe.get("statistics_weight") and recipe.get("head_drawn_ratio")
               is not None else ""))


def show_expected_duration(workspace: Workspace, dataset: str) -> None:
    """Before a run starts: its epochs and tiles, and how long it should take here (an estimate from the
    workspace's earlier runs of the same recipe and input size), or why there is no estimate yet; and whether
    the dataset lacks the global statistics its verdict would use."""
    from artcnn.dataset import read_description, read_statistics
    from artcnn.models import resolve_recipe
    from artcnn.run_report import duration_text, seconds_per_tile

    try:
        recipe = resolve_recipe(training_form_config())
        description = read_description(workspace.dataset_dir(dataset))
        without_statistics = recipe.statistics_weight and read_statistics(description) is None
    except ValueError as error:
        st.error(str(error))
        return
    tiles = description.tiles
    if without_statistics:
        st.caption("This dataset was built before the artworks' current global statistics were recorded, so this "
                   "model will judge by its tiles alone. Measure them again on the Datasets page to use them.")
    own = "" if st.session_state.get(TRAINING_FORM["epochs"]) else " (the recipe's own number)"
    what = f"{recipe.epochs} epoch{'s' if recipe.epochs != 1 else ''}{own} over {tiles} tiles"
    rate = seconds_per_tile(workspace.root / "runs", recipe.name, recipe.input_size)
    if rate is None:
        st.caption(f"{what}. No earlier run of recipe {recipe.name} at {recipe.input_size} px in this workspace to "
                   "estimate the duration from: the time left shows once the first epoch ends.")
    else:
        st.caption(f"{what}: expected {duration_text(rate * tiles * recipe.epochs)} of training, plus loading "
                   f"TensorFlow and the test evaluation (an estimate from this workspace's earlier runs of recipe "
                   f"{recipe.name}).")


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
                 "augment": "train_augment", "seed": "train_seed", "weights": "train_weights",
                 "prior_ratio": "train_prior_ratio", "prior_class": "train_prior_class",
                 "balance_sources": "train_balance_sources", "statistics_weight": "train_statistics_weight",
                 "drawn_ratio": "train_drawn_ratio", "drawn_class": "train_drawn_class"}


def training_form(workspace: Workspace, datasets: list[str], new_run_name: str) -> None:
    """The dataset, the widgets of a TrainConfig and the run name, each starting at its default (None numbers
    mean the recipe's) and keeping the user's choice across reruns and page changes (app_state.kept); then
    the run's expected duration."""
    from artcnn.config import TrainConfig
    from artcnn.dataset import read_description
    from artcnn.models import recipe_descriptions, uses_weights

    synthetic = {name for name in datasets if read_description(workspace.dataset_dir(name)).synthetic}
    dataset = st.selectbox("Dataset", datasets, **kept("train_dataset", datasets[0], datasets),
                           format_func=lambda name: name + (" (SYNTHETIC demo data)" if name in synthetic else ""))
    defaults, notes, key = TrainConfig(), recipe_descriptions(), TRAINING_FORM
    recipe = st.selectbox("Recipe", list(notes), **kept(key["recipe"], defaults.recipe, list(notes)),
                          format_func=lambda name: f"{name}: {notes[name]}")
    numbers = st.columns(4)
    numbers[0].number_input("Epochs", 1, 500, **kept(key["epochs"], defaults.epochs), placeholder="recipe's")
    numbers[1].number_input("Batch size", 1, 1024, **kept(key["batch_size"], defaults.batch_size),
                            placeholder="recipe's")
    numbers[2].number_input("Test batch size", 1, 1024, **kept(key["test_batch_size"], defaults.test_batch_size),
                            placeholder="recipe's")
    numbers[3].number_input("Learning rate", 1e-6, 1.0, step=1e-4, format="%.5f",
                            **kept(key["learning_rate"], defaults.learning_rate), placeholder="recipe's")
    switches = st.columns(3)
    switches[0].checkbox("Dropout", **kept(key["dropout"], defaults.dropout),
                         help="The study's first switch: the recipe's dropout layers.")
    switches[1].checkbox("Rotation augmentation", **kept(key["augment"], defaults.augment),
                         help="The study's second switch: the recipe's random rotations of the training tiles.")
    switches[2].number_input("Seed", 0, 2**31 - 1, **kept(key["seed"], defaults.seed))
    if uses_weights(recipe):
        st.text_input("VGG16 weights", **kept(key["weights"], defaults.weights or "none"), help="A weights file on "
                      "the server (…_notop.h5), imagenet (Keras' cache, or a download) or none (random weights).")
    with st.expander("For artists the model has not seen (measured in bench/results/unseen_artists*.md)"):
        st.number_input("Share of the artwork's global statistics in its verdict (the rest: its tiles)", 0.0, 1.0,
                        step=0.1, **kept(key["statistics_weight"], defaults.statistics_weight), placeholder="recipe's",
                        help="Colours, flat fills, edges, spectrum and grain of the whole picture. On artists left "
                             "out of training they raised `default` most; the prior and balancing below showed no "
                             "clear gain.")
        classes = read_description(workspace.dataset_dir(dataset)).classes
        drawn = st.columns(2)
        drawn[0].number_input("Synthetic hand drawings per artwork of the class", 0.0, 2.0, step=0.05,
                              **kept(key["drawn_ratio"], defaults.drawn_ratio), placeholder="recipe's",
                              help="Line art on white (mouse doodles, pencil sketches) drawn by our generators. On "
                                   "artists left out of training they took drawn hand-made sources from near 0% up.")
        drawn[1].selectbox("Class the drawings are added to", classes, **kept(
            key["drawn_class"], defaults.drawn_class if defaults.drawn_class in classes else classes[0], classes))
        prior = st.columns(2)
        prior[0].number_input("Algorithmic-art prior: synthetic tiles per real tile of the class", 0.0, 4.0,
                              step=0.25, **kept(key["prior_ratio"], defaults.prior_ratio))
        prior[1].selectbox("Class the prior adds to", classes, **kept(
            key["prior_class"], defaults.prior_class if defaults.prior_class in classes else classes[-1], classes))
        st.checkbox("Balance sources: every source (filename prefix) of a class gives as many training tiles",
                    **kept(key["balance_sources"], defaults.balance_sources))
    st.text_input("Run name", **kept("train_name", new_run_name), help="Also the prefix of the study's four runs.")
    show_expected_duration(workspace, dataset)


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
    from artcnn.dataset import read_description
    from artcnn.run_folder import read_run

    entries: dict[str, dict] = {}
    for name in workspace.run_names():
        record = read_run(workspace.run_dir(name))
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
