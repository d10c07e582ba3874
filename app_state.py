"""What the pages share: the app's only global state, as `st.cache_resource` loaders.

Per-user state lives in `st.session_state`; everything else is in the workspace folder.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from artcnn.jobs import JobManager
from artcnn.workspace import Workspace


def follow_router() -> None:
    """Every page calls this first. A page opened by its address on a fresh server runs under Streamlit's
    automatic page list (its multipage v1 mode, chosen because pages/ exists, until streamlit_app.py's
    st.navigation has run once) without the router: switch that mode off for the server and run again, so
    the router draws the same page with the app's navigation (a page's id is its url path, the file name)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def workspace() -> Workspace:
    """The workspace named by ARTCNN_WORKSPACE (read on every call, so tests can point elsewhere); the CLI
    records into the same one (Workspace.from_env)."""
    return Workspace.from_env()


@st.cache_resource
def jobs() -> JobManager:
    """Background training jobs of this server: they outlive reruns, page changes and closed tabs."""
    return JobManager()


@st.cache_resource(max_entries=4)
def loaded_model(path: str, modified: float):
    """A model and its metadata, loaded once per file version (`modified` keys the cache)."""
    from artcnn.storage import load_model

    return load_model(Path(path))


def model_and_metadata(path: Path):
    return loaded_model(str(path), path.stat().st_mtime)
