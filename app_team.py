"""What the pages need for a server shared by a team: Streamlit's sign-in as a gate before every page, the
person signed in, deleting by typing a name into the trash and restoring from it, deleting a classification,
and the training queue.
The rules themselves are artcnn's (access, trash, jobs)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from artcnn import trash
from artcnn.access import set_current_user, sign_in_providers, user_name
from artcnn.workspace import Workspace

# Session-state key: the unprotected notice was shown on Home in this session.
NOTICE_SHOWN = "team unprotected notice shown"
# Session-state keys of what the last deletion or restore did, or why it did not, shown once (show_done).
DONE, FAILED = "team done", "team failed"


def auth_section() -> dict | None:
    """The [auth] section of .streamlit/secrets.toml, or None when there is none (or no secrets file). A secrets
    file that cannot be read stops the page: sign-in may be meant, so the app does not run unprotected."""
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        auth = st.secrets.get("auth")
    except StreamlitSecretNotFoundError as error:
        if getattr(error, "error_id", None) == "no-secrets-found":
            return None
        st.error("The server's .streamlit/secrets.toml cannot be read, so sign-in cannot be checked: an "
                 "administrator needs to correct it.")
        st.stop()
    return dict(auth) if auth else None


def protected() -> bool:
    """Whether sign-in is configured (an [auth] section in secrets.toml): then every page asks for it."""
    return auth_section() is not None


def user() -> str | None:
    """The signed-in person (as the catalogue records them), None without sign-in. Usable in callbacks."""
    return user_name(st.user.to_dict()) if protected() else None


def sign_in() -> str | None:
    """The gate every page passes first: with sign-in configured, a page for someone not signed in is only a
    Sign in button; a signed-in person becomes the acting user of this script run, named in the sidebar with
    Sign out. Returns who is signed in (None without sign-in)."""
    auth = auth_section()
    if auth is None:
        set_current_user(None)
        return None
    person = user_name(st.user.to_dict())
    set_current_user(person)
    if person is not None:
        st.sidebar.caption(f"Signed in as {person}")
        st.sidebar.button("Sign out", on_click=st.logout, key="team sign out")
        return person
    st.title("artcnn")
    providers = sign_in_providers(auth)
    if not providers:
        st.error("Sign-in is set up in secrets.toml but names no provider (client_id): an administrator needs to "
                 "complete it.")
    else:
        st.info("This artcnn server is shared: sign in to use it.")
    for provider in providers:
        st.button("Sign in" if provider is None else f"Sign in with {provider}", type="primary",
                  on_click=st.login, args=(() if provider is None else (provider,)), key=f"team sign in {provider}")
    st.stop()


def unprotected_notice() -> None:
    """Home's note, once a session, that anyone reaching the server uses it as it is."""
    if protected() or st.session_state.get(NOTICE_SHOWN):
        return
    st.session_state[NOTICE_SHOWN] = True
    st.warning("This app is not protected: anyone who can open its address can train, classify and delete. That is "
               "fine on your own computer; for a shared server, see *Running for a team* in the README.")


def users(rows: list[dict]) -> dict:
    """A "by" column for a table of catalogue rows, when any of them names who made it; else nothing."""
    return {"by": [row.get("user") or "" for row in rows]} if any(row.get("user") for row in rows) else {}


def show_deletions(catalogue, limit: int = 5) -> None:
    """The latest deletions: what, when, by whom, and whether it is still in the trash."""
    rows = catalogue.deletions()[:limit]
    if not rows:
        return
    st.markdown("**Last deletions** (restore them from the trash on the Models page)")
    st.dataframe(pd.DataFrame({
        "deleted": [f"{row['kind']} {row['name']}" for row in rows], "when": [row["created"] for row in rows],
        "now": [f"restored by {row['restored_by'] or 'someone'}" if row["restored"] else
                "removed for good" if row["purged"] else "in the trash" for row in rows],
    }).assign(**users(rows)), hide_index=True)


def delete_control(workspace: Workspace, kind: str, name: str, running: bool = False) -> None:
    """Delete `name` (a dataset, run or model file) by typing its name: it moves to the trash, from which the
    Models page restores it. What happened (a refusal too: a run training, a model in use) shows at
    `show_done`."""
    key = f"team delete {kind} {name}"
    with st.popover(f"Delete {kind} {name}", disabled=running,
                    help="A run still training cannot be deleted; stop it first." if running else None):
        st.write(f"The {kind} moves to the trash for {trash_days()} days; the Models page restores it from there.")
        st.text_input(f"Type {name} to confirm", key=key)
        st.button("Move to the trash", type="primary", key=f"team delete button {kind} {name}", on_click=_delete,
                  args=(workspace, kind, name, running, key))


def _delete(workspace: Workspace, kind: str, name: str, running: bool, key: str) -> None:
    # A callback: it may empty the confirmation, so that a later thing of the same name is not one click away.
    if st.session_state.get(key, "").strip() != name:
        st.session_state[FAILED] = f"Type the name {name} exactly to delete it."
        return
    try:
        trash.move_to_trash(workspace, kind, name, running=running, user=user())
    except (ValueError, OSError) as error:
        st.session_state[FAILED] = str(error)
        return
    st.session_state[key] = ""
    st.session_state[DONE] = f"The {kind} {name} is in the trash; restore it on the Models page."


def delete_classification_control(workspace: Workspace, entry: dict) -> None:
    """Delete the catalogue classification `entry` after a confirming click: a model that only it was made with
    can then go to the trash. What happened shows at `show_done`."""
    number = entry["id"]
    with st.popover(f"Delete classification #{number}"):
        st.write(f"Its {entry['artworks']} results leave the catalogue for good: download the CSV first to keep "
                 "them. The artworks' files are not touched.")
        st.button("Delete it", type="primary", key=f"team delete classification {number}",
                  on_click=_delete_classification, args=(workspace, number))


def _delete_classification(workspace: Workspace, number: int) -> None:
    try:
        workspace.delete_classification(number)
    except OSError as error:
        st.session_state[FAILED] = f"Classification #{number} could not be deleted: {error.strerror}."
        return
    st.session_state[DONE] = f"Classification #{number} is deleted."


def trash_days() -> int:
    """TrashConfig.days as ARTCNN_TRASH_DAYS sets it; a bad value is named once and the default used."""
    try:
        return trash.TrashConfig.from_env().days
    except ValueError as error:
        st.warning(f"{error}; the trash keeps deleted things {trash.TrashConfig().days} days.")
        return trash.TrashConfig().days


def show_done() -> None:
    """What the last deletion or restore did, once."""
    if DONE in st.session_state:
        st.success(st.session_state.pop(DONE))
    if FAILED in st.session_state:
        st.error(st.session_state.pop(FAILED))


def show_trash(workspace: Workspace) -> None:
    """The trash (after purging what is older than its days): each item, who deleted it and when it goes, and
    Restore for the chosen one."""
    config = trash.TrashConfig(days=trash_days())
    try:
        trash.purge(workspace, config)
    except OSError as error:
        st.error(f"The trash could not be emptied of old items: {error}")
    items = trash.trashed(workspace)
    if not items:
        return
    st.subheader("Trash")
    st.dataframe(pd.DataFrame({"deleted": [f"{item.kind} {item.name}" for item in items],
                               "when": [f"{item.deleted:%Y-%m-%d %H:%M} UTC" for item in items],
                               "by": [item.user or "" for item in items],
                               "removed for good on": [f"{item.expires(config):%Y-%m-%d}" for item in items]}),
                 hide_index=True)
    chosen = st.selectbox("Deleted item", items, format_func=lambda item: f"{item.kind} {item.name} "
                          f"(deleted {item.deleted:%Y-%m-%d %H:%M})", key="team trash pick")
    st.button("Restore", key="team restore", on_click=_restore, args=(workspace, chosen))


def _restore(workspace: Workspace, item: trash.TrashItem) -> None:
    try:
        trash.restore(workspace, item.id, user=user())
    except (ValueError, OSError) as error:
        st.session_state[FAILED] = str(error)
    else:
        st.session_state[DONE] = f"The {item.kind} {item.name} is back."


def show_jobs(jobs) -> None:
    """The jobs running on this server (progress, Stop), then those waiting (`show_queue`)."""
    from app_runs import show_running_jobs  # app_runs imports app_state, which imports this module

    show_running_jobs(jobs)
    show_queue(jobs)


def show_queue(jobs) -> None:
    """The trainings waiting for a place (the server runs jobs.config.limit at once), each with Cancel."""
    waiting = jobs.queued()
    if not waiting:
        return
    st.markdown(f"**Waiting** (this server trains {jobs.config.limit} at a time; each starts when one ends)")
    st.dataframe(pd.DataFrame({"place": range(1, len(waiting) + 1), "training": [job.name for job in waiting],
                               "by": [job.user or "" for job in waiting],
                               "since": [f"{job.submitted:%H:%M:%S} UTC" for job in waiting]}), hide_index=True)
    for job in waiting:
        st.button(f"Cancel {job.name}", key=f"team cancel {job.name}", on_click=_cancel, args=(jobs, job.name))


def _cancel(jobs, name: str) -> None:
    job = jobs.get(name)
    if job is not None and job.queued:  # not one that started meanwhile
        jobs.cancel(name)
