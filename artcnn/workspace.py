"""The workspace: one folder holding a user's datasets, runs, models and the catalogue.

`ARTCNN_WORKSPACE` names it (default `./workspace`). Every name a user types goes through
`config.validate_name` before it becomes a path, so nothing is ever written outside the root.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from artcnn.catalogue import Catalogue
from artcnn.config import validate_name
from artcnn.dataset import DESCRIPTION_FILE
from artcnn.storage import MODEL_SUFFIXES

# Models shipped with the app (e.g. the one trained on the synthetic demo), listed beside the user's.
BUILTIN_MODELS = Path(__file__).resolve().parent.parent / "models"


def best_model(metadatas: Sequence[dict]) -> int | None:
    """Position of the model whose metadata records the highest test artwork accuracy. Models
    without test metrics (finalized ones) rank after those with; ties go to the first listed."""
    if not metadatas:
        return None

    def accuracy(index: int) -> float:
        value = ((metadatas[index].get("metrics") or {}).get("artwork_accuracy") or {}).get("value")
        return -1.0 if value is None else float(value)

    return max(range(len(metadatas)), key=lambda index: (accuracy(index), -index))


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def from_env(cls) -> "Workspace":
        return cls.open(Path(os.environ.get("ARTCNN_WORKSPACE", "workspace")))

    @classmethod
    def open(cls, root: Path) -> "Workspace":
        root = Path(root).resolve()
        for folder in ("datasets", "runs", "models", "uploads"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def catalogue(self) -> Catalogue:
        return Catalogue(self.root / "catalogue.sqlite")

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
