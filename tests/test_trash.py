"""artcnn.trash: deleting moves to workspace/trash/, restore puts back, purge removes after TrashConfig.days."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from artcnn import trash
from artcnn.access import acting_as
from artcnn.trash import TrashConfig
from artcnn.workspace import Workspace


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    dataset = workspace.dataset_dir("demo")
    (dataset / "tiles").mkdir(parents=True)
    (dataset / "dataset.json").write_text("{}")
    (dataset / "tiles" / "a.png").write_bytes(b"tile")
    workspace.catalogue.record_dataset("demo", ["han", "kom"], {"train": {"han": 1}}, 0, user="ana@museum.org")
    run = workspace.run_dir("first")
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "model.keras").write_bytes(b"model")
    (run / "status.json").write_text(json.dumps({"state": "finished", "pid": os.getpid()}))
    workspace.catalogue.record_run("first", "demo", "default", {"epochs": 1})
    (workspace.root / "models" / "final.keras").write_bytes(b"final")
    return workspace


def test_a_deleted_dataset_is_in_the_trash_and_restored_with_its_record(ws):
    with acting_as("ben@museum.org"):
        item = trash.move_to_trash(ws, "dataset", "demo")
    assert not ws.dataset_dir("demo").exists() and ws.dataset_names() == [] and ws.catalogue.datasets() == []
    assert (item.path / "tiles" / "a.png").read_bytes() == b"tile"
    assert item.path.is_relative_to(ws.root / "trash") and (item.kind, item.name, item.user) == (
        "dataset", "demo", "ben@museum.org")
    assert trash.trashed(ws) == [item]
    (deletion,) = ws.catalogue.deletions()
    assert (deletion["kind"], deletion["name"], deletion["user"], deletion["item"]) == (
        "dataset", "demo", "ben@museum.org", item.id)

    assert trash.restore(ws, item.id, user="ana@museum.org") == ws.dataset_dir("demo")
    assert ws.dataset_names() == ["demo"] and (ws.dataset_dir("demo") / "tiles" / "a.png").is_file()
    (record,) = ws.catalogue.datasets()
    assert record["user"] == "ana@museum.org" and record["counts"] == {"train": {"han": 1}}, "the builder kept"
    assert trash.trashed(ws) == [] and ws.catalogue.deletions()[0]["restored_by"] == "ana@museum.org"
    with pytest.raises(ValueError, match="Nothing to restore"):
        trash.restore(ws, item.id)


def test_runs_and_model_files_go_and_come_back(ws):
    run_item = trash.move_to_trash(ws, "run", "first")
    model_item = trash.move_to_trash(ws, "model", "final.keras")
    assert ws.run_names() == [] and ws.catalogue.runs() == [] and not (ws.root / "models" / "final.keras").exists()
    assert {item.id for item in trash.trashed(ws)} == {run_item.id, model_item.id}
    trash.restore(ws, model_item.id)
    assert (ws.root / "models" / "final.keras").read_bytes() == b"final"
    trash.restore(ws, run_item.id)
    assert ws.run_names() == ["first"] and [run["name"] for run in ws.catalogue.runs()] == ["first"]


def test_restore_refuses_when_the_name_was_taken_again(ws):
    item = trash.move_to_trash(ws, "model", "final.keras")
    (ws.root / "models" / "final.keras").write_bytes(b"newer")
    with pytest.raises(ValueError, match="A model named 'final.keras' exists again"):
        trash.restore(ws, item.id)
    assert trash.trashed(ws) == [item] and (ws.root / "models" / "final.keras").read_bytes() == b"newer"


def test_the_same_name_deleted_twice_is_two_items(ws):
    first = trash.move_to_trash(ws, "model", "final.keras")
    (ws.root / "models" / "final.keras").write_bytes(b"again")
    second = trash.move_to_trash(ws, "model", "final.keras")
    assert first.id != second.id and len(trash.trashed(ws)) == 2
    assert second.path.read_bytes() == b"again" and first.path.read_bytes() == b"final"


def test_purge_removes_items_older_than_the_configured_days(ws):
    old = trash.move_to_trash(ws, "dataset", "demo")
    recent = trash.move_to_trash(ws, "model", "final.keras")
    about = json.loads((old.path.parent / trash.ITEM_FILE).read_text())
    deleted = datetime.now(timezone.utc) - timedelta(days=8)
    (old.path.parent / trash.ITEM_FILE).write_text(json.dumps({**about, "deleted": deleted.isoformat()}))
    assert [item.id for item in trash.purge(ws, TrashConfig())] == [old.id]
    assert [item.id for item in trash.trashed(ws)] == [recent.id] and not old.path.parent.exists()
    assert next(row for row in ws.catalogue.deletions() if row["item"] == old.id)["purged"]
    # Within its days an item stays; a shorter setting, or a later purge, removes it.
    assert trash.purge(ws, TrashConfig(days=7)) == []
    assert trash.purge(ws, TrashConfig(days=7), now=datetime.now(timezone.utc) + timedelta(days=7, seconds=1))
    assert trash.trashed(ws) == []


def test_purge_leaves_a_folder_being_moved_in_and_clears_one_a_crash_left(ws):
    fresh = ws.root / "trash" / "moving in"
    fresh.mkdir()
    left = ws.root / "trash" / "left by a crash"
    left.mkdir()
    os.utime(left, (0, 0))
    assert trash.purge(ws, TrashConfig()) == []
    assert fresh.is_dir() and not left.exists() and trash.trashed(ws) == []


def test_a_training_run_and_a_model_in_use_are_kept(ws):
    with pytest.raises(ValueError, match="The run 'first' is training: stop it"):
        trash.move_to_trash(ws, "run", "first", running=True)
    # A run another live process trains, as its status.json says.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (ws.run_dir("first") / "status.json").write_text(json.dumps({"state": "running", "pid": other.pid}))
        with pytest.raises(ValueError, match="is training"):
            trash.move_to_trash(ws, "run", "first")
    finally:
        other.kill()
        other.wait()
    # Its process gone, the run is interrupted and can go; first a classification made with its model keeps it.
    ws.catalogue.start_classification("first (synthetic)", ["han", "kom"], "upload")
    with pytest.raises(ValueError, match="The run 'first' is kept: 1 classification in the catalogue was made"):
        trash.move_to_trash(ws, "run", "first")
    ws.catalogue.start_classification("final", ["han", "kom"], "upload")
    ws.catalogue.start_classification(str(ws.root / "models" / "final.keras"), ["han", "kom"], "upload")
    with pytest.raises(ValueError, match="2 classifications in the catalogue were made with its model"):
        trash.move_to_trash(ws, "model", "final.keras")
    for classification in ws.catalogue.classifications():
        ws.catalogue.delete_classification(classification["id"])
    trash.move_to_trash(ws, "run", "first")
    trash.move_to_trash(ws, "model", "final.keras")
    assert len(trash.trashed(ws)) == 2


def test_bad_names_and_kinds_are_refused(ws):
    with pytest.raises(ValueError, match="There is no dataset named 'gone'"):
        trash.move_to_trash(ws, "dataset", "gone")
    with pytest.raises(ValueError, match="Received: kind='folder'"):
        trash.move_to_trash(ws, "folder", "demo")
    with pytest.raises(ValueError, match="Received"):
        trash.move_to_trash(ws, "model", "../catalogue.sqlite")
    with pytest.raises(ValueError, match="Received: name='notes.txt'"):
        trash.move_to_trash(ws, "model", "notes.txt")
    with pytest.raises(ValueError, match="Received"):
        trash.restore(ws, "../ws")


def test_the_days_come_from_the_config_and_the_environment():
    assert TrashConfig().days == 7
    assert TrashConfig.from_env({"ARTCNN_TRASH_DAYS": "30"}).days == 30 and TrashConfig.from_env({}).days == 7
    for bad in ("-1", "a week"):
        with pytest.raises(ValueError, match=f"Received: ARTCNN_TRASH_DAYS='{bad}'"):
            TrashConfig.from_env({"ARTCNN_TRASH_DAYS": bad})
    with pytest.raises(ValueError, match="Received: days=-1"):
        TrashConfig(days=-1)
