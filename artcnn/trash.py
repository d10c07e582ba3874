"""Nothing lost by a stray click: a deleted dataset, run or model moves to the workspace's trash/ folder for
TrashConfig.days (default 7), from which it can be restored, then `purge` removes it for good.

Each deletion is one item folder, trash/<id>/, holding the moved folder or file under its own name and
trashed.json (what it was, when and by whom it was deleted, its catalogue row to put back). Moving is a
rename within the workspace (os.replace), so it is instant and atomic whatever the size. The catalogue
records who deleted, restored and when the item was purged (its deletions table).

A run that is training is not deleted, nor a model that a classification in the catalogue was made with
(`check_deletable`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from artcnn.access import current_user
from artcnn.config import validate_name, whole_number_from_env
from artcnn.storage import MODEL_SUFFIXES, atomic_write_text
from artcnn.workspace import SYNTHETIC_NAME, Workspace

KINDS = ("dataset", "run", "model")
TRASH = "trash"
ITEM_FILE = "trashed.json"
DAYS_VARIABLE = "ARTCNN_TRASH_DAYS"
# The catalogue table that records each kind (a model file has no row of its own).
_TABLES = {"dataset": "datasets", "run": "runs", "model": None}


@dataclass(frozen=True)
class TrashConfig:
    """How long the trash keeps what was deleted."""

    # Days a deleted dataset, run or model stays restorable in workspace/trash/ before `purge` removes it for good;
    # 0 removes it at the next purge.
    days: int = 7

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 0:
            raise ValueError(f"days must be a whole number of days, 0 or more. Received: days={self.days!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "TrashConfig":
        """ARTCNN_TRASH_DAYS, or the default."""
        value = whole_number_from_env(DAYS_VARIABLE, environ, "a whole number of days")
        return cls() if value is None else cls(days=value)


@dataclass(frozen=True)
class TrashItem:
    """One deletion in the trash."""

    # The item's folder name in trash/ (the restore and purge handle).
    id: str
    # "dataset", "run" or "model".
    kind: str
    # The dataset's or run's name, or the model's file name (x.keras).
    name: str
    deleted: datetime
    # Who deleted it (access.current_user then), None without sign-in.
    user: str | None
    # The moved folder or file, inside the item's folder.
    path: Path

    def expires(self, config: TrashConfig) -> datetime:
        return self.deleted + timedelta(days=config.days)


def trash_dir(workspace: Workspace) -> Path:
    return workspace.root / TRASH


def source_path(workspace: Workspace, kind: str, name: str) -> Path:
    """Where the dataset, run or model `name` lives in the workspace (a model by its file name in models/)."""
    if kind == "dataset":
        return workspace.dataset_dir(name)
    if kind == "run":
        return workspace.run_dir(name)
    if kind == "model":
        path = workspace.root / "models" / validate_name(name, "model file name")
        if path.suffix not in MODEL_SUFFIXES:
            raise ValueError(f"a model file name ends in .keras or .h5. Received: name={name!r}")
        return path
    raise ValueError(f"kind must be one of {', '.join(KINDS)}. Received: kind={kind!r}")


def model_names(workspace: Workspace, kind: str, name: str) -> set[str]:
    """How the catalogue's classifications may name the model of run `name` or the model file `name`: its
    workspace.model_name (with and without the synthetic mark), its label and its path (older records)."""
    path = source_path(workspace, kind, name)
    if kind == "run":
        path = path / "model.keras"
    short = name if kind == "run" else Path(name).stem
    return {short, short + SYNTHETIC_NAME, str(path.relative_to(workspace.root)), str(path)}


def check_deletable(workspace: Workspace, kind: str, name: str, running: bool = False) -> Path:
    """The path of what is to be deleted, or a ValueError saying in the user's words why it is kept: it does not
    exist, it is a run training now (`running`: a job of this server trains it; a live process named in its
    status.json does too), or it is a model a classification in the catalogue was made with."""
    path = source_path(workspace, kind, name)
    if not path.exists():
        raise ValueError(f"There is no {kind} named {name!r} in the workspace (deleted already?).")
    if kind == "run" and (running or _trained_elsewhere(path)):
        raise ValueError(f"The run {name!r} is training: stop it before deleting it.")
    if kind in ("run", "model"):
        using = workspace.catalogue.classifications_of(model_names(workspace, kind, name))
        if using:
            count = f"{len(using)} classifications in the catalogue were" if len(using) > 1 else \
                "1 classification in the catalogue was"
            raise ValueError(f"The {kind} {name!r} is kept: {count} made with its model (the latest on "
                             f"{using[0]['created'][:10]}). It can be deleted once those classifications are deleted "
                             "(on the Classify page: choose one, then Delete classification).")
    return path


def _trained_elsewhere(run_dir: Path) -> bool:
    """Whether the run's status.json says another live process (the CLI, say) is training it."""
    try:
        status = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    pid = status.get("pid") if isinstance(status, dict) and status.get("state") == "running" else None
    if not isinstance(pid, int) or pid == os.getpid():
        return False  # not running, or this process's (then `running` says whether a job trains it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def move_to_trash(workspace: Workspace, kind: str, name: str, running: bool = False,
                  user: str | None = None) -> TrashItem:
    """Move the dataset, run or model file `name` into a new trash item, once `check_deletable` allows it, and
    record the deletion by `user` (default: the acting user); its catalogue row goes with it."""
    path = check_deletable(workspace, kind, name, running)
    user = user or current_user()
    deleted = datetime.now(timezone.utc).replace(microsecond=0)
    folder = _new_item_folder(workspace, f"{deleted:%Y%m%d-%H%M%S} {kind} {name}")
    table = _TABLES[kind]
    row = workspace.catalogue.row(table, name) if table else None
    atomic_write_text(folder / ITEM_FILE, json.dumps({"kind": kind, "name": name, "deleted": deleted.isoformat(),
                                                      "user": user, "row": row}, indent=1))
    os.replace(path, folder / path.name)
    if table:
        workspace.catalogue.forget(table, name)
    workspace.catalogue.record_deletion(kind, name, folder.name, user)
    return _read_item(folder)


def _new_item_folder(workspace: Workspace, stem: str) -> Path:
    for number in range(1, 1000):
        folder = trash_dir(workspace) / (stem if number == 1 else f"{stem} ({number})")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise ValueError(f"too many deletions of one name in one second. Received: stem={stem!r}")


def _read_item(folder: Path) -> TrashItem | None:
    """The item in `folder`, or None for a folder that is not a complete item (left by a crash mid-move)."""
    try:
        about = json.loads((folder / ITEM_FILE).read_text(encoding="utf-8"))
        item = TrashItem(folder.name, about["kind"], about["name"], datetime.fromisoformat(about["deleted"]),
                         about.get("user"), folder / Path(about["name"]).name)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return item if item.path.exists() else None


def trashed(workspace: Workspace) -> list[TrashItem]:
    """Every item in the trash, the latest deletion first."""
    folder = trash_dir(workspace)
    items = [_read_item(path) for path in folder.iterdir() if path.is_dir()] if folder.is_dir() else []
    return sorted((item for item in items if item), key=lambda item: (item.deleted, item.id), reverse=True)


def restore(workspace: Workspace, item_id: str, user: str | None = None) -> Path:
    """Put the trash item `item_id` back where it was (with its catalogue row); returns its path. Refused with a
    ValueError when the item is gone or something of the same name was made since."""
    folder = trash_dir(workspace) / validate_name(item_id, "trash item")
    item = _read_item(folder) if folder.is_dir() else None
    if item is None:
        raise ValueError(f"Nothing to restore: the trash holds no item {item_id!r} (purged already?).")
    target = source_path(workspace, item.kind, item.name)
    if target.exists():
        raise ValueError(f"A {item.kind} named {item.name!r} exists again: delete or rename it before restoring "
                         "the one in the trash.")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(item.path, target)
    row = json.loads((folder / ITEM_FILE).read_text(encoding="utf-8")).get("row")
    if row and _TABLES[item.kind]:
        workspace.catalogue.put_row(_TABLES[item.kind], row)
    workspace.catalogue.record_restored(item.id, user)
    shutil.rmtree(folder)
    return target


def purge(workspace: Workspace, config: TrashConfig | None = None, now: datetime | None = None) -> list[TrashItem]:
    """Remove for good every item deleted more than config.days ago (and item folders a crash left incomplete an
    hour ago or more); returns the items removed."""
    config = config or TrashConfig.from_env()
    now = now or datetime.now(timezone.utc)
    folder = trash_dir(workspace)
    removed = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_dir():
            continue
        item = _read_item(path)
        if item is not None and item.expires(config) > now:
            continue
        if item is None and path.stat().st_mtime > now.timestamp() - 3600:
            continue  # a deletion moving in now
        shutil.rmtree(path, ignore_errors=True)
        if item is not None:
            workspace.catalogue.record_purged(item.id)
            removed.append(item)
    return removed
