import pytest

from artcnn.workspace import Workspace, best_model


def test_names_cannot_escape_the_workspace(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    for bad in ("../outside", "/etc", "a/b", "..", ""):
        with pytest.raises(ValueError, match="Received"):
            workspace.dataset_dir(bad)
        with pytest.raises(ValueError, match="Received"):
            workspace.run_dir(bad)
    assert workspace.dataset_dir("demo").parent == workspace.root / "datasets"


def test_environment_variable_names_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "elsewhere"))
    workspace = Workspace.from_env()
    assert workspace.root == (tmp_path / "elsewhere").resolve()
    assert (workspace.root / "datasets").is_dir()


def test_listings_only_show_complete_folders(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    (workspace.dataset_dir("half")).mkdir()
    done = workspace.dataset_dir("done")
    done.mkdir()
    (done / "dataset.json").write_text("{}")
    assert workspace.dataset_names() == ["done"]
    workspace.delete_dataset("done")
    assert workspace.dataset_names() == []


def test_best_model_has_the_highest_artwork_accuracy():
    def accuracy(value):
        return {"metrics": {"artwork_accuracy": {"value": value}}}

    assert best_model([{"metrics": {}}, accuracy(0.6), accuracy(0.9), accuracy(0.9)]) == 2
    assert best_model([{}, {"metrics": {}}]) == 0
    assert best_model([]) is None


def test_delete_model_only_deletes_saved_model_files(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    (workspace.root / "models" / "final.keras").write_bytes(b"model")
    (workspace.root / "models" / "notes.txt").write_text("keep")
    for bad in ("notes.txt", "missing.h5", "../catalogue.sqlite"):
        with pytest.raises(ValueError, match="Received"):
            workspace.delete_model(bad)
    workspace.delete_model("final.keras")
    assert sorted(p.name for p in (workspace.root / "models").iterdir()) == ["notes.txt"]
