"""The workspace: one folder holding a user's datasets, runs, models and the catalogue.

`ARTCNN_WORKSPACE` names it (default `./workspace`). Every name a user types goes through
`config.validate_name` before it becomes a path, so nothing is ever written outside the root.

The stages record their work in the catalogue of the workspace that holds their output, whoever
started them (a page or the CLI): `record_dataset` (dataset_build.build_dataset), `record_run`
(training.train); a classification is recorded by prediction.classify when given a catalogue. Each record
names the acting user (access.current_user), when sign-in is on. Deleting from the pages moves things to
the trash/ folder (artcnn.trash); the delete_* methods here remove them for good.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from artcnn.catalogue import CATALOGUE_FILE, Catalogue, open_catalogue
from artcnn.config import TrainConfig, to_dict, validate_name
from artcnn.dataset import DESCRIPTION_FILE, Dataset
from artcnn.storage import MODEL_SUFFIXES, read_metadata

# Models shipped with the app (e.g. the one trained on the synthetic demo), listed beside the user's.
BUILTIN_MODELS = Path(__file__).resolve().parent.parent / "models"
ENVIRONMENT_VARIABLE = "ARTCNN_WORKSPACE"
DEFAULT_ROOT = "workspace"
FOLDERS = ("datasets", "runs", "models", "uploads", "trash")


# How model_name marks a model trained on synthetic pictures only.
SYNTHETIC_NAME = " (synthetic)"
# Where collection maps are kept inside the workspace (the app; `map` when --cache is not given).
MAPS_FOLDER = "maps"


def best_model(metadatas: Sequence[dict]) -> int | None:
    """Position of the model whose metadata records the highest test artwork accuracy. Models trained
    on synthetic pictures only rank after the others, and models without test metrics (finalized ones)
    after those with; ties go to the first listed."""
    if not metadatas:
        return None

    def accuracy(index: int) -> float:
        value = ((metadatas[index].get("metrics") or {}).get("artwork_accuracy") or {}).get("value")
        return -1.0 if value is None else float(value)

    return max(range(len(metadatas)), key=lambda index: (not metadatas[index].get("synthetic"), accuracy(index),
                                                         -index))


def model_name(path: str | os.PathLike, metadata: dict | None = None) -> str:
    """A model in words a curator reads: a run's name for the run's model file, else the file's name without
    its suffix, with "(synthetic)" after it when its metadata says it was trained on synthetic pictures only."""
    from artcnn.run_folder import MODEL

    path = Path(path)
    name = path.parent.resolve().name if path.name == MODEL else path.stem
    return f"{name}{SYNTHETIC_NAME}" if (metadata or {}).get("synthetic") else name


def named_synthetic(name: str) -> bool:
    """Whether a `model_name` (as a classification in the catalogue keeps it) marks a synthetic-only model."""
    return name.endswith(SYNTHETIC_NAME)


def classification_key(number: int) -> str:
    """The collection_map cache key of catalogue classification `number`'s map."""
    return f"classification-{number}"


def root_from_env() -> Path:
    """The workspace folder the app and the CLI use: ARTCNN_WORKSPACE, or ./workspace."""
    return Path(os.environ.get(ENVIRONMENT_VARIABLE, DEFAULT_ROOT)).resolve()


def synthetic_warning(name: str) -> str:
    """What to say beside the results of the model `name` when it was trained on synthetic pictures only."""
    return (f"The model {name} was trained on synthetic pictures only, never on real art: its verdicts on real "
            "artworks are not to be trusted. Train a model on your own artworks and classify with it instead.")


@dataclass(frozen=True)
class ModelInfo:
    """Where a model file comes from, as the Models and Classify pages show it."""

    path: Path
    # Short and unique: relative to the workspace (runs/x/model.keras, models/y.h5) or the app (models/demo.keras).
    label: str
    # In a curator's words (`model_name`): "first" for runs/first/model.keras, "demo (synthetic)" for the demo.
    name: str
    # "run" (a run's model.keras), "finalized" (the workspace's models/), "built-in" (shipped with the app)
    # or "other" (a file elsewhere).
    origin: str
    # The run's name for origin "run", else None.
    run: str | None
    # Trained on synthetic demo data, as its metadata says.
    synthetic: bool
    # A Markdown card beside the model (models/demo.md for models/demo.keras), or None.
    card: Path | None

    @property
    def warning(self) -> str | None:
        """What to say above this model's results when it knows synthetic pictures only; None otherwise."""
        return synthetic_warning(self.name) if self.synthetic else None


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def from_env(cls) -> "Workspace":
        """The workspace ARTCNN_WORKSPACE names (default ./workspace), opened."""
        return cls.open(root_from_env())

    @classmethod
    def open(cls, root: Path) -> "Workspace":
        root = Path(root).resolve()
        for folder in FOLDERS:
            (root / folder).mkdir(parents=True, exist_ok=True)
        # The catalogue's file marks the folder as a workspace for `containing`.
        open_catalogue(root / CATALOGUE_FILE)
        return cls(root)

    @classmethod
    def containing(cls, folder: str | os.PathLike) -> "Workspace | None":
        """The workspace whose datasets/ or runs/ holds `folder`: the one ARTCNN_WORKSPACE names, or any
        folder already holding a catalogue. None for a folder outside every workspace."""
        folder = Path(folder).resolve()
        root = folder.parent.parent
        if folder.parent.name not in ("datasets", "runs"):
            return None
        if root == root_from_env() or (root / CATALOGUE_FILE).is_file():
            return cls.open(root)
        return None

    @property
    def catalogue(self) -> Catalogue:
        return open_catalogue(self.root / CATALOGUE_FILE)

    def dataset_dir(self, name: str) -> Path:
        return self.root / "datasets" / validate_name(name, "dataset name")

    def run_dir(self, name: str) -> Path:
        return self.root / "runs" / validate_name(name, "run name")

    def model_path(self, name: str, suffix: str = ".keras") -> Path:
        if suffix not in MODEL_SUFFIXES:
            raise ValueError(f"suffix must be .keras or .h5. Received: suffix={suffix!r}")
        return self.root / "models" / (validate_name(name, "model name") + suffix)

    def upload_dir(self, name: str) -> Path:
        return self.root / "uploads" / validate_name(name, "upload name")

    def dataset_names(self) -> list[str]:
        return sorted(p.name for p in (self.root / "datasets").iterdir() if (p / DESCRIPTION_FILE).is_file())

    def run_names(self) -> list[str]:
        runs = [p for p in (self.root / "runs").iterdir() if (p / "config.json").is_file()]
        return [p.name for p in sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)]

    def model_files(self) -> list[Path]:
        """Every model the user can pick: finished runs, finalized models, then the built-in ones."""
        runs = [self.root / "runs" / name / "model.keras" for name in self.run_names()]
        saved = sorted(p for p in (self.root / "models").iterdir() if p.suffix in MODEL_SUFFIXES)
        builtin = sorted(p for p in BUILTIN_MODELS.glob("*") if p.suffix in MODEL_SUFFIXES)
        return [p for p in runs if p.is_file()] + saved + builtin

    def describe_model(self, path: str | os.PathLike, metadata: dict | None = None) -> ModelInfo:
        """Where the model file `path` comes from; its `metadata` (storage.read_metadata, read here when not
        given; {} for a file that cannot be read) gives its name and synthetic flag."""
        path = Path(path).resolve()
        if metadata is None:
            try:
                metadata = read_metadata(path)
            except (ValueError, OSError):
                metadata = {}
        about = dict(name=model_name(path, metadata), synthetic=bool(metadata.get("synthetic")))
        card = path.with_suffix(".md")
        about["card"] = card if card.is_file() else None
        if path.parent.parent == self.root / "runs":
            return ModelInfo(path, str(path.relative_to(self.root)), origin="run", run=path.parent.name, **about)
        if path.parent == self.root / "models":
            return ModelInfo(path, str(path.relative_to(self.root)), origin="finalized", run=None, **about)
        if path.parent == BUILTIN_MODELS:
            return ModelInfo(path, str(path.relative_to(BUILTIN_MODELS.parent)), origin="built-in", run=None, **about)
        label = str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)
        return ModelInfo(path, label, origin="other", run=None, **about)

    def default_model(self) -> Path | None:
        """The model to preselect: the best (`best_model`) of the user's own finished models (runs and
        finalized ones, synthetic ones last), else the best built-in one; None when there is none. A file
        that cannot be read is passed over."""
        readable: list[tuple[Path, dict]] = []
        for path in self.model_files():
            try:
                readable.append((path, read_metadata(path)))
            except (ValueError, OSError):
                continue
        own = [(path, metadata) for path, metadata in readable if path.parent != BUILTIN_MODELS] or readable
        best = best_model([metadata for _, metadata in own])
        return None if best is None else own[best][0]

    def delete_dataset(self, name: str) -> None:
        shutil.rmtree(self.dataset_dir(name))
        self.catalogue.forget("datasets", name)

    def delete_run(self, name: str) -> None:
        shutil.rmtree(self.run_dir(name))
        self.catalogue.forget("runs", name)

    def delete_model(self, file_name: str) -> None:
        """Delete a saved model file of the workspace's models/ (never a run's or a built-in one)."""
        path = self.root / "models" / validate_name(file_name, "model file name")
        if path.suffix not in MODEL_SUFFIXES or not path.is_file():
            raise ValueError(f"no model file named {file_name!r} in {self.root / 'models'}. Received: {file_name=}")
        path.unlink()

    def delete_classification(self, number: int) -> None:
        """Delete catalogue classification `number`, its results and its cached map, for good (its CSV is the copy
        to keep; the artworks' files are not touched)."""
        self.catalogue.delete_classification(number)
        (self.root / MAPS_FOLDER / f"{classification_key(number)}.npz").unlink(missing_ok=True)


def record_dataset(dataset: Dataset) -> None:
    """Note a dataset just built in the catalogue of the workspace holding it, if one does."""
    workspace = Workspace.containing(dataset.path)
    if workspace is not None:
        workspace.catalogue.record_dataset(dataset.path.name, dataset.classes, dataset.counts, len(dataset.skipped))


def record_run(run_dir: str | os.PathLike, dataset_dir: str | os.PathLike, config: TrainConfig) -> None:
    """Note a run just started in the catalogue of the workspace holding it, if one does."""
    workspace = Workspace.containing(run_dir)
    if workspace is not None:
        workspace.catalogue.record_run(Path(run_dir).name, Path(dataset_dir).name, config.recipe, to_dict(config))
