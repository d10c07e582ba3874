import functools
import os
import shutil
from pathlib import Path

import pytest

# Quiet TensorFlow before any test imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@pytest.fixture(autouse=True)
def no_stray_workspace(tmp_path, monkeypatch):
    """Stages record into the app's workspace (./workspace by default): a test records only where it says."""
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "app workspace"))


@pytest.fixture
def empty_workspace(tmp_path, monkeypatch):
    """A new workspace the app opens (ARTCNN_WORKSPACE names it)."""
    from artcnn.workspace import Workspace

    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "workspace"))
    return Workspace.open(tmp_path / "workspace")


@pytest.fixture
def workspace(empty_workspace) -> Path:
    """The root folder of `empty_workspace`, for tests that build into it by path."""
    return empty_workspace.root


@functools.cache
def _populated_under(base: Path) -> Path:
    # Cached per session base folder, so the page test modules train and classify only once.
    from builders import populate

    root = base / "populated" / "workspace"
    populate(root)
    return root


@pytest.fixture
def populated_workspace(tmp_path_factory, monkeypatch):
    """builders.populate's workspace, shared by every test that asks for it: they only read it."""
    from artcnn.workspace import Workspace

    root = _populated_under(tmp_path_factory.getbasetemp())
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(root))
    return Workspace.open(root)


@pytest.fixture
def populated_copy(populated_workspace, tmp_path, monkeypatch):
    """A copy of `populated_workspace` for a test that changes it."""
    from artcnn.workspace import Workspace

    root = tmp_path / "workspace"
    shutil.copytree(populated_workspace.root, root)
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(root))
    return Workspace.open(root)


@pytest.fixture
def iiif_server():
    """tests/iiif_server.py's local IIIF server (manifests, Image API, broken and slow links) for one test."""
    from iiif_server import IIIFServer

    with IIIFServer() as server:
        yield server
