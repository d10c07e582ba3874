import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from artcnn import storage  # noqa: E402
from artcnn.storage import atomic_write_json, atomic_write_text, load_model, read_metadata, save_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METADATA = {"classes": ["han", "kom"], "input_size": 32, "tiling": {"tile_size": 32}, "synthetic": True,
            "description": "tiny test model", "metrics": {}}


def tiny_model(lambda_layer: bool = False):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs) if lambda_layer else inputs
    x = keras.layers.Conv2D(2, 3)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(1)
    return tiny_model()


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_round_trip_keeps_predictions_and_metadata(tmp_path, model, batch, suffix):
    path = save_model(model, tmp_path / f"model{suffix}", METADATA)

    loaded, metadata = load_model(path)

    assert metadata == METADATA
    assert read_metadata(path) == METADATA
    np.testing.assert_allclose(loaded.predict(batch, verbose=0), model.predict(batch, verbose=0), rtol=1e-6)
    assert folder_listing(tmp_path) == [f"model{suffix}"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saving_again_replaces_the_file(tmp_path, model, suffix):
    path = tmp_path / f"model{suffix}"
    save_model(model, path, {**METADATA, "description": "first"})
    save_model(model, path, {**METADATA, "description": "second"})

    assert read_metadata(path)["description"] == "second"
    assert folder_listing(tmp_path) == [path.name]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_read_metadata_does_not_import_tensorflow(tmp_path, model, suffix):
    path = save_model(model, tmp_path / f"model{suffix}", METADATA)
    script = (
        "import json, sys\n"
        "from artcnn.storage import read_metadata\n"
        f"metadata = read_metadata({str(path)!r})\n"
        "loaded = {'tf': 'tensorflow' in sys.modules, 'keras': 'keras' in sys.modules}\n"
        "print(json.dumps({'metadata': metadata, **loaded}))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    report = json.loads(output.stdout.strip().splitlines()[-1])
    assert report == {"metadata": METADATA, "tf": False, "keras": False}


def test_unknown_suffix_is_refused_everywhere(tmp_path, model):
    path = tmp_path / "model.pb"
    with pytest.raises(ValueError, match=r"\.keras or \.h5\. Received: path=.*model\.pb"):
        save_model(model, path, METADATA)
    path.write_bytes(b"whatever")
    for reader in (read_metadata, load_model):
        with pytest.raises(ValueError, match=r"Received: path=.*model\.pb"):
            reader(path)
    assert folder_listing(tmp_path) == ["model.pb"]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found: .*absent.keras"):
        load_model(tmp_path / "absent.keras")


def test_truncated_keras_file_is_reported_as_invalid(tmp_path, model):
    path = save_model(model, tmp_path / "model.keras", METADATA)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    for reader in (read_metadata, load_model):
        with pytest.raises(ValueError, match=r"not a valid \.keras file: .*model\.keras"):
            reader(path)


def test_garbage_h5_file_is_reported_as_invalid(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"this is not HDF5" * 100)
    with pytest.raises(ValueError, match=r"not a valid \.h5 file: .*model\.h5"):
        load_model(path)


def test_h5_from_another_program_loads_as_the_study_model(tmp_path, model, batch, caplog):
    path = tmp_path / "study.h5"
    model.save(path)  # plain Keras, no artcnn metadata, as the study saved its model

    assert read_metadata(path) == {}
    caplog.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING):
            loaded, metadata = load_model(path)
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []
    assert metadata == {"classes": ["han", "kom"], "input_size": 32}
    np.testing.assert_allclose(loaded.predict(batch, verbose=0), model.predict(batch, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_model_needs_safe_mode_off(tmp_path, batch, suffix):
    unsafe = tiny_model(lambda_layer=True)
    path = save_model(unsafe, tmp_path / f"lambda{suffix}", METADATA)

    with pytest.raises(ValueError, match=r"Lambda layer.*safe_mode=False.*trust"):
        load_model(path)
    loaded, metadata = load_model(path, safe_mode=False)
    assert metadata == METADATA
    np.testing.assert_allclose(loaded.predict(batch, verbose=0), unsafe.predict(batch, verbose=0), rtol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"classes": ["a", "b", "c"]}, r"lists 3 classes \(a, b, c\) but the model has 1 output unit"),
        ({"classes": ["only"]}, r"lists 1 classes \(only\) but the model has 1 output unit"),
        ({"input_size": 64}, r"input_size=64 but the model takes 32×32 inputs"),
    ],
)
def test_metadata_that_contradicts_the_model_is_refused(tmp_path, model, change, message):
    path = save_model(model, tmp_path / "model.keras", {**METADATA, **change})
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_multi_class_model_without_metadata_gets_numbered_classes(model):
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    metadata = storage.model_metadata(keras.Model(inputs, outputs), {})
    assert metadata == {"classes": ["class_0", "class_1", "class_2"], "input_size": 16}


def test_metadata_that_is_not_json_is_refused_before_writing(tmp_path, model):
    with pytest.raises(ValueError, match="JSON-serialisable"):
        save_model(model, tmp_path / "model.keras", {"when": object()})
    assert folder_listing(tmp_path) == []


def test_failed_save_leaves_old_file_and_no_temp(tmp_path, model, monkeypatch):
    path = save_model(model, tmp_path / "model.keras", METADATA)
    before = path.read_bytes()

    def disk_full(model, filepath):
        Path(filepath).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.saving, "save_model", disk_full)
    with pytest.raises(OSError, match=r"cannot write .*model\.keras: No space left on device"):
        save_model(model, path, {**METADATA, "description": "new"})

    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["model.keras"]


def test_save_into_a_read_only_folder_leaves_old_file(tmp_path, model):
    folder = tmp_path / "models"
    folder.mkdir()
    path = save_model(model, folder / "model.h5", METADATA)
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who may write to read-only folders (root)")
        with pytest.raises(PermissionError, match=r"cannot write .*model\.h5"):
            save_model(model, path, {**METADATA, "description": "new"})
    finally:
        folder.chmod(0o755)
    assert path.read_bytes() == before
    assert folder_listing(folder) == ["model.h5"]


def test_save_where_the_parent_is_a_file_names_the_path(tmp_path, model):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OSError, match=r"cannot write .*blocker/model\.keras"):
        save_model(model, blocker / "model.keras", METADATA)
    assert folder_listing(tmp_path) == ["blocker"]


def test_atomic_writes_replace_whole_files(tmp_path):
    target = tmp_path / "status.json"
    atomic_write_json(target, {"state": "running", "epoch": 1})
    atomic_write_json(target, {"state": "finished", "epoch": 2})
    assert json.loads(target.read_text()) == {"state": "finished", "epoch": 2}

    atomic_write_text(tmp_path / "notes.txt", "héllo\n")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "héllo\n"
    assert folder_listing(tmp_path) == ["notes.txt", "status.json"]


def test_atomic_write_failure_keeps_old_text(tmp_path, monkeypatch):
    target = tmp_path / "history.csv"
    atomic_write_text(target, "epoch,loss\n0,1.0\n")

    def interrupted(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(storage.os, "replace", interrupted)
    with pytest.raises(OSError, match=r"cannot write .*history\.csv: Input/output error"):
        atomic_write_text(target, "epoch,loss\n")
    assert target.read_text() == "epoch,loss\n0,1.0\n"
    assert folder_listing(tmp_path) == ["history.csv"]
