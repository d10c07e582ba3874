"""A training run's folder: the names of its files, its status and history written as it goes, and
`read_run`, which reads them all without TensorFlow (pages list runs with it).

See docs/architecture.md for what each file holds.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from artcnn.storage import atomic_write_json, atomic_write_text

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")
CONFIG, STATUS, HISTORY, CHECKPOINT, MODEL, METRICS = (
    "config.json", "status.json", "history.csv", "checkpoint.keras", "model.keras", "metrics.json")


def timestamp() -> str:
    """Now, in UTC, as ISO 8601 to the second: how run files and model metadata date things."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_status(run_dir: Path, state: str, epoch: int, epochs: int, error: str | None = None) -> None:
    """status.json: the run's state, where it stands, and the process that writes it."""
    atomic_write_json(run_dir / STATUS, {"state": state, "epoch": epoch, "epochs": epochs, "error": error,
                                         "updated": timestamp(), "pid": os.getpid()})


def write_history(run_dir: Path, history: list[dict]) -> None:
    """history.csv: one row per finished epoch, HISTORY_COLUMNS only."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(run_dir / HISTORY, buffer.getvalue())


def read_history(run_dir: Path) -> list[dict]:
    """history.csv's rows (epoch an int, the rest floats or None); [] before the first epoch ends."""
    path = run_dir / HISTORY
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [{name: None if value in ("", None) else (int(value) if name == "epoch" else float(value))
                 for name, value in row.items()} for row in csv.DictReader(file)]


def read_json(path: Path) -> Any:
    """A run file's JSON, or None when the file is not there (yet)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_run(run_dir: str | os.PathLike) -> dict:
    """A run folder's config, status, history (list of dicts), metrics and model path, without TensorFlow."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise ValueError(f"{run_dir} is not a run folder: {CONFIG} is missing.")
    model_path = run_dir / MODEL
    return {
        "config": read_json(run_dir / CONFIG),
        "status": read_json(run_dir / STATUS) or {},
        "history": read_history(run_dir),
        "metrics": read_json(run_dir / METRICS),
        "model_path": model_path if model_path.is_file() else None,
    }


def claim_run(run_dir: Path, config: dict) -> None:
    """Make a new run folder with its config.json, refusing one that already holds a run.

    Creating config.json is the claim, in one step: of two trainings started into one run at
    once (two browser tabs), one gets the folder and the other this error.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_json(run_dir / CONFIG, config, replace=False)
    except FileExistsError:
        state = (read_json(run_dir / STATUS) or {}).get("state", "starting")
        raise ValueError(f"{run_dir} already holds a run (state: {state}). Choose another run name, "
                         "or resume it to continue from its last checkpoint.") from None


def is_interrupted(status: dict, running_here: bool) -> bool:
    """Whether a run's status says "running" though nothing trains it: the process that did has died.

    `running_here` tells whether this process trains the run now. A run recorded by another live
    process (the CLI, say) is still running; one recorded by this process but not running here was
    left by an earlier server that had the same process id.
    """
    if status.get("state") != "running" or running_here:
        return False
    pid = status.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, but another user's
    return False
