"""What the page tests of Home, Datasets and Classify share: the app under AppTest, and a workspace
holding a dataset, a finished run and a classification, all made here from tiny synthetic data."""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from artcnn.config import TilingConfig, TrainConfig, to_dict
from artcnn.demo import make_demo_collection
from artcnn.tiling import build_dataset
from artcnn.workspace import Workspace

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
TINY_TILING = TilingConfig(tile_size=64, tiles_per_artwork=3)
TINY_TRAINING = TrainConfig(epochs=1, batch_size=8, test_batch_size=8, weights=None)
BROKEN = b"\x89PNG\r\n\x1a\n this is not really a PNG"


def open_page(page: str) -> AppTest:
    """The app (in the workspace ARTCNN_WORKSPACE names) switched to `page`, checked for exceptions."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def artworks(folder: Path, per_class: int = 2) -> dict[str, list[Path]]:
    """Small synthetic artworks (128-192 px) in folder/han, folder/kom."""
    return make_demo_collection(folder, per_class=per_class, size=(128, 192))


def zipped(files: list[Path], extra: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in files:
            archive.write(file, f"collection/{file.name}")
        for name, content in extra.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def populate(root: Path) -> None:
    """Dataset `tiny`, run `first` (one epoch) and a classification of three artworks and a broken file."""
    from artcnn.prediction import classify
    from artcnn.training import train

    workspace = Workspace.open(root)
    collection = workspace.upload_dir("tiny")
    made = artworks(collection, per_class=4)
    report = build_dataset(collection, workspace.dataset_dir("tiny"), TINY_TILING)
    workspace.catalogue.record_dataset("tiny", report.classes, report.counts, len(report.skipped))
    result = train(workspace.dataset_dir("tiny"), workspace.run_dir("first"), TINY_TRAINING)
    workspace.catalogue.record_run("first", "tiny", "default", to_dict(TINY_TRAINING))
    broken = collection / "broken.png"
    broken.write_bytes(BROKEN)
    catalogue = workspace.catalogue
    classification = catalogue.start_classification("runs/first/model.keras", report.classes, "tests")
    for position, artwork in enumerate(classify(result.model_path, [made["han"][0], *made["kom"][:2], broken])):
        catalogue.add_result(classification, position, artwork)
    catalogue.finish_classification(classification)


@pytest.fixture
def empty_workspace(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "workspace"))
    return Workspace.open(tmp_path / "workspace")


@functools.cache
def _populated_under(base: Path) -> Path:
    # Cached per session base folder, so the three page test modules train and classify only once.
    root = base / "populated" / "workspace"
    populate(root)
    return root


@pytest.fixture
def _populated_root(tmp_path_factory) -> Path:
    return _populated_under(tmp_path_factory.getbasetemp())


@pytest.fixture
def populated_workspace(_populated_root, monkeypatch) -> Workspace:
    """Shared by a test module's tests: they only read it."""
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(_populated_root))
    return Workspace.open(_populated_root)
