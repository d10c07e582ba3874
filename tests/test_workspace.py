import threading
from pathlib import Path

import pytest

from artcnn.catalogue import CATALOGUE_FILE
from artcnn.storage import save_model
from artcnn.prediction import ArtworkResult
from artcnn.workspace import (BUILTIN_MODELS, MAPS_FOLDER, Workspace, best_model, classification_key, model_name,
                              named_synthetic)
from builders import TINY_TILING, TINY_TRAINING, artworks


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
    monkeypatch.delenv("ARTCNN_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    assert Workspace.from_env().root == (tmp_path / "workspace").resolve()


def test_two_workspace_objects_of_one_folder_share_one_catalogue(tmp_path):
    first, second = Workspace.open(tmp_path / "ws"), Workspace.open(tmp_path / "ws" / ".." / "ws")
    assert first.catalogue is second.catalogue is first.catalogue
    assert first.catalogue._lock is second.catalogue._lock
    assert Workspace.open(tmp_path / "other").catalogue is not first.catalogue

    # Threads writing through different Workspace objects lose nothing.
    def record(number):
        Workspace.open(tmp_path / "ws").catalogue.record_run(f"run{number}", "demo", "default", {})

    threads = [threading.Thread(target=record, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(run["name"] for run in second.catalogue.runs()) == [f"run{n}" for n in range(8)]


def test_the_workspace_holding_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "named"))
    opened = Workspace.open(tmp_path / "opened")
    assert Workspace.containing(opened.root / "runs" / "x") == opened
    assert Workspace.containing(opened.root / "models" / "x") is None
    # The named workspace counts before the app ever opened it; another bare folder does not.
    assert Workspace.containing(tmp_path / "named" / "datasets" / "x").root == (tmp_path / "named").resolve()
    assert (tmp_path / "named" / CATALOGUE_FILE).is_file()
    assert Workspace.containing(tmp_path / "bare" / "datasets" / "x") is None
    assert not (tmp_path / "bare").exists()


def test_work_done_without_the_app_reaches_the_catalogue_the_app_reads(tmp_path, monkeypatch):
    """What `python -m artcnn build-dataset/train/classify --workspace` run in a workspace do: the stage
    functions, called directly, record their work."""
    from artcnn.prediction import classify
    from artcnn.dataset_build import build_dataset
    from artcnn.training import train

    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "ws"))
    made = artworks(tmp_path / "art", per_class=3)
    build_dataset(tmp_path / "art", tmp_path / "ws" / "datasets" / "cli", TINY_TILING)
    result = train(tmp_path / "ws" / "datasets" / "cli", tmp_path / "ws" / "runs" / "cli-run", TINY_TRAINING)
    app = Workspace.from_env()
    list(classify(result.model_path, [made["kom"][0]], catalogue=app.catalogue, source="cli"))

    (dataset,) = app.catalogue.datasets()
    assert (dataset["name"], dataset["classes"]) == ("cli", ["han", "kom"]) and dataset["counts"]["train"]["han"]
    (run,) = app.catalogue.runs()
    assert (run["name"], run["dataset"], run["recipe"]) == ("cli-run", "cli", TINY_TRAINING.recipe)
    assert run["config"]["epochs"] == 1
    (classification,) = app.catalogue.classifications()
    assert classification["model"] == "cli-run (synthetic)" and classification["artworks"] == 1
    assert classification["finished"]

    # Outside any workspace nothing is recorded, and nothing fails.
    build_dataset(tmp_path / "art", tmp_path / "elsewhere" / "datasets" / "loose", TINY_TILING)
    assert [entry["name"] for entry in app.catalogue.datasets()] == ["cli"]


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
    # A model trained on synthetic pictures only comes after every other, whatever its accuracy.
    assert best_model([{**accuracy(0.99), "synthetic": True}, {"metrics": {}}, accuracy(0.6)]) == 2
    assert best_model([{**accuracy(0.99), "synthetic": True}, {"metrics": {}}]) == 1


def test_delete_model_only_deletes_saved_model_files(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    (workspace.root / "models" / "final.keras").write_bytes(b"model")
    (workspace.root / "models" / "notes.txt").write_text("keep")
    for bad in ("notes.txt", "missing.h5", "../catalogue.sqlite"):
        with pytest.raises(ValueError, match="Received"):
            workspace.delete_model(bad)
    workspace.delete_model("final.keras")
    assert sorted(p.name for p in (workspace.root / "models").iterdir()) == ["notes.txt"]


def test_delete_classification_takes_its_results_and_map_and_nothing_else(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    catalogue = workspace.catalogue
    gone, kept = (catalogue.start_classification("final", ["han", "kom"], "upload") for _ in range(2))
    for number in (gone, kept):
        catalogue.add_result(number, 0, ArtworkResult(
            file="a.jpg", sha256=None, width=4, height=4, tiles=1, probabilities={"han": 0.9, "kom": 0.1}, label="han",
            confidence=0.9))
    maps = workspace.root / MAPS_FOLDER
    maps.mkdir()
    for number in (gone, kept):
        (maps / f"{classification_key(number)}.npz").write_bytes(b"map")
    workspace.delete_classification(gone)
    assert [entry["id"] for entry in catalogue.classifications()] == [kept]
    assert catalogue.results(gone) == [] and len(catalogue.results(kept)) == 1
    assert sorted(path.name for path in maps.iterdir()) == [f"{classification_key(kept)}.npz"]
    workspace.delete_classification(kept)  # one never mapped goes as well
    assert catalogue.classifications() == []


def test_describe_model_tells_where_a_model_comes_from(tmp_path):
    keras = pytest.importorskip("keras")
    workspace = Workspace.open(tmp_path / "ws")
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    workspace.run_dir("first").mkdir()
    run_model = save_model(model, workspace.run_dir("first") / "model.keras", {"classes": ["han", "kom"]})
    final = save_model(model, workspace.model_path("final", ".h5"), {"classes": ["han", "kom"], "synthetic": True})
    loose = save_model(model, tmp_path / "loose.keras", {"classes": ["han", "kom"]})

    described = workspace.describe_model(run_model)
    assert (described.label, described.origin, described.run, described.synthetic) == (
        "runs/first/model.keras", "run", "first", False)
    described = workspace.describe_model(final, {"synthetic": True})
    assert (described.label, described.origin, described.run, described.synthetic, described.card) == (
        "models/final.h5", "finalized", None, True, None)
    assert workspace.describe_model(loose).origin == "other"
    assert workspace.describe_model(loose).label == str(loose.resolve())
    demo = BUILTIN_MODELS / "demo.keras"
    if demo.is_file():
        described = workspace.describe_model(demo, {"synthetic": True})
        assert (described.label, described.origin, described.synthetic) == ("models/demo.keras", "built-in", True)
        assert described.card == BUILTIN_MODELS / "demo.md"
        # Without metadata given, the file's own is read.
        assert workspace.describe_model(demo) == described and described.name == "demo (synthetic)"
        assert described.warning.startswith("The model demo (synthetic) was trained on synthetic pictures only")


def test_a_model_is_named_in_a_curators_words(tmp_path):
    keras = pytest.importorskip("keras")
    workspace = Workspace.open(tmp_path / "ws")
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    workspace.run_dir("kandinsky v2").mkdir()
    run_model = save_model(model, workspace.run_dir("kandinsky v2") / "model.keras", {"classes": ["han", "kom"]})
    demo_run = workspace.run_dir("on the demo")
    demo_run.mkdir()
    synthetic = save_model(model, demo_run / "model.keras", {"classes": ["han", "kom"], "synthetic": True})

    assert model_name(run_model) == "kandinsky v2" and model_name(Path("runs/first/model.keras")) == "first"
    assert model_name("elsewhere/final.h5") == "final"
    assert model_name("elsewhere/final.h5", {"synthetic": True}) == "final (synthetic)"
    assert named_synthetic(model_name("final.h5", {"synthetic": True})) and not named_synthetic(model_name("final.h5"))
    assert workspace.describe_model(run_model).name == "kandinsky v2"
    assert workspace.describe_model(run_model).warning is None
    assert workspace.describe_model(synthetic).name == "on the demo (synthetic)"
    # An unreadable file is still described (the pages list it with its error).
    broken = workspace.model_path("broken")
    broken.write_bytes(b"not a zip")
    assert (workspace.describe_model(broken).name, workspace.describe_model(broken).synthetic) == ("broken", False)


def test_the_default_model_is_the_users_own_before_any_synthetic_or_built_in_one(tmp_path):
    keras = pytest.importorskip("keras")
    workspace = Workspace.open(tmp_path / "ws")
    builtin = sorted(p for p in BUILTIN_MODELS.glob("*.keras"))
    assert workspace.default_model() == (builtin[0] if builtin else None)
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    workspace.run_dir("on the demo").mkdir()
    (workspace.run_dir("on the demo") / "config.json").write_text("{}")  # what makes the folder a run
    scored = {"classes": ["han", "kom"], "metrics": {"artwork_accuracy": {"value": 1.0}}}
    demo_run = save_model(model, workspace.run_dir("on the demo") / "model.keras", {**scored, "synthetic": True})
    assert workspace.default_model() == demo_run
    final = save_model(model, workspace.model_path("final"), {"classes": ["han", "kom"]})
    assert workspace.default_model() == final
    workspace.model_path("broken").write_bytes(b"not a zip")
    assert workspace.default_model() == final
