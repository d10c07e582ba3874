"""What the pages share: the app's only global state, as `st.cache_resource` loaders.

Per-user state lives in `st.session_state`; everything else is in the workspace folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import streamlit as st

import app_team
from artcnn.jobs import JobManager, JobsConfig
from artcnn.workspace import Workspace


def navigation():
    """The app's page list, drawn in the sidebar, and the page config every page shares; streamlit_app.py
    runs the page it returns."""
    st.set_page_config(page_title="artcnn", page_icon=":material/palette:", layout="wide")
    return st.navigation([
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/datasets.py", title="Datasets", icon=":material/grid_view:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/classify.py", title="Classify", icon=":material/search:"),
        st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    ])


def follow_router() -> None:
    """Every page calls this first. A page opened by its address on a fresh server is run by Streamlit's
    automatic page list (its multipage v1 mode, chosen because pages/ exists, until an st.navigation has run
    on the server) instead of streamlit_app.py: replace that list by the app's navigation, which also ends
    that mode for the server. The page itself runs on (page ids are url paths, the same in both lists).
    Then the sign-in gate (app_team.sign_in): with sign-in configured, the page stops here for someone not
    signed in; a signed-in person is the acting user of the rest of the run."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if PagesManager.uses_pages_directory:
        # st.navigation makes the main script the active one; scoped, the rest of this page keeps its own,
        # which widget ids depend on (else a widget would lose its value in the next run).
        with get_script_run_ctx().run_with_active_hash(""):
            navigation()
    app_team.sign_in()


# Session-state key of the kept widget values (`kept`): widget key → the value it last had.
KEPT = "kept widget values"


def kept(key: str, default: Any, options: Sequence | None = None) -> dict:
    """The key and on_change arguments for a widget whose value outlives page changes: Streamlit forgets a
    widget's value when a run does not draw it (another page is shown), so a copy is kept under KEPT, on
    every change (a change sent as the user leaves the page too) and every run, and restored from there.
    `default` is the first value; a kept value no longer among `options` falls back to it."""
    values = st.session_state.setdefault(KEPT, {})
    if key not in st.session_state:
        value = values.get(key, default)
        st.session_state[key] = default if options is not None and value not in options else value
    values[key] = st.session_state[key]
    return {"key": key, "on_change": _remember, "args": (key,)}


def _remember(key: str) -> None:
    st.session_state[KEPT][key] = st.session_state[key]


def workspace() -> Workspace:
    """The workspace named by ARTCNN_WORKSPACE (read on every call, so tests can point elsewhere); the CLI
    records into the same one (Workspace.from_env)."""
    return Workspace.from_env()


@st.cache_resource
def jobs() -> JobManager:
    """Background training jobs of this server: they outlive reruns, page changes and closed tabs. At most
    ARTCNN_MAX_TRAININGS run at once (default one per core); a bad value is named and the default used."""
    try:
        config = JobsConfig.from_env()
    except ValueError as error:
        st.warning(f"{error}; this server trains {JobsConfig().limit} at a time.")
        config = JobsConfig()
    return JobManager(config)


@st.cache_resource(max_entries=4)
def loaded_model(path: str, modified: float):
    """A model and its metadata, loaded once per file version (`modified` keys the cache)."""
    from artcnn.storage import load_model

    return load_model(Path(path))


def model_and_metadata(path: Path):
    return loaded_model(str(path), path.stat().st_mtime)
