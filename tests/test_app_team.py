"""app_team through streamlit's AppTest: the sign-in gate of every page with a faked st.user (signed in and
not), Home's unprotected notice, and the Train page's queue of a second and third training (fake tasks)."""

import threading

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import APP
from builders import write_dataset

PAGES = ("pages/home.py", "pages/datasets.py", "pages/train.py", "pages/classify.py", "pages/models.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "a long random secret",
        "client_id": "artcnn", "client_secret": "s", "server_metadata_url": "https://id.example.org/.well-known"}
ANA = {"is_logged_in": True, "email": "ana@museum.org", "name": "Ana"}


def app(page: str = "pages/home.py", user: dict | None = None, auth: dict | None = None) -> AppTest:
    """The app on `page`, with sign-in configured by `auth` (an [auth] section) and st.user faked as `user`."""
    at = AppTest.from_file(APP, default_timeout=30)
    if auth is not None:
        at.secrets = {"auth": auth}
    if user is not None:
        at.user = user
    at.run()
    if page != "pages/home.py":
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_asks_someone_not_signed_in_to_sign_in_first(empty_workspace, page):
    at = app(page, user={"is_logged_in": False}, auth=AUTH)
    assert [button.label for button in at.button] == ["Sign in"]
    assert [title.value for title in at.title] == ["artcnn"] and "sign in to use it" in at.info[0].value
    assert not at.metric and not at.text_input and not at.file_uploader and not at.dataframe


def test_each_named_provider_has_its_sign_in_button(empty_workspace):
    at = app(user={"is_logged_in": False},
             auth={"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x", "google": {"client_id": "g"},
                   "microsoft": {"client_id": "m"}})
    assert [button.label for button in at.button] == ["Sign in with google", "Sign in with microsoft"]
    at = app(user={"is_logged_in": False}, auth={"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x"})
    assert not at.button and "names no provider" in at.error[0].value


def test_a_signed_in_person_is_named_and_recorded_on_what_they_build(empty_workspace):
    at = app(user=ANA, auth=AUTH)
    assert "Signed in as ana@museum.org" in [caption.value for caption in at.sidebar.caption]
    assert any(button.label == "Sign out" for button in at.sidebar.button)
    assert not at.warning, "no unprotected notice with sign-in on"
    next(button for button in at.button if button.label == "Start with the synthetic demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [(row["name"], row["user"]) for row in empty_workspace.catalogue.datasets()] == [("demo", "ana@museum.org")]
    assert at.dataframe[0].value["by"].tolist() == ["ana@museum.org"]

    # Her deletion is named on Home too, and followed to the trash and back.
    from artcnn import trash

    at.switch_page("pages/datasets.py").run()
    at.text_input(key="team delete dataset demo").input("demo").run()
    next(button for button in at.button if button.label == "Move to the trash").click().run()
    at.switch_page("pages/home.py").run()
    deleted = next(frame.value for frame in at.dataframe if "deleted" in frame.value.columns)
    assert deleted[["deleted", "now", "by"]].values.tolist() == [["dataset demo", "in the trash", "ana@museum.org"]]
    trash.restore(empty_workspace, trash.trashed(empty_workspace)[0].id, user="ben@museum.org")
    at.run()
    deleted = next(frame.value for frame in at.dataframe if "deleted" in frame.value.columns)
    assert deleted["now"].tolist() == ["restored by ben@museum.org"]


def test_without_sign_in_home_says_once_that_the_app_is_unprotected(empty_workspace):
    at = app()  # AppTest's own st.user (an email, no is_logged_in) is ignored without an [auth] section
    assert "This app is not protected" in at.warning[0].value
    assert not at.sidebar.caption and not any(button.label.startswith("Sign") for button in at.button)
    at.run()
    assert not at.warning
    at.switch_page("pages/datasets.py").run()
    at.switch_page("pages/home.py").run()
    assert not at.warning and not at.exception
    empty_workspace.catalogue.record_dataset("laptop", ["han", "kom"], {}, 0)
    at.run()
    assert "by" not in at.dataframe[0].value.columns, "nobody to name without sign-in"


def test_the_train_page_queues_a_second_and_third_training_and_shows_the_queue(workspace, monkeypatch):
    import app_state
    from artcnn import training
    from artcnn.workspace import record_run

    write_dataset(workspace / "datasets" / "tiny", classes=("han", "kom"))
    release, started = threading.Event(), []

    def fake_train(dataset_dir, run_dir, config, progress=None, stop=None):
        record_run(run_dir, dataset_dir, config)
        started.append(run_dir.name)
        release.wait(20)

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setenv("ARTCNN_MAX_TRAININGS", "1")
    app_state.jobs.clear()  # a manager with this limit
    try:
        at = app("pages/train.py", user=ANA, auth=AUTH)
        for name in ("first", "second", "third"):
            at.text_input(key="train_name").input(name).run()
            next(button for button in at.button if button.label == "Start training").click().run()
            assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
        waiting = next(frame.value for frame in at.dataframe if "place" in frame.value.columns)
        assert waiting["training"].tolist() == ["second", "third"] and waiting["place"].tolist() == [1, 2]
        assert waiting["by"].tolist() == ["ana@museum.org"] * 2
        assert "trains 1 at a time" in "\n".join(markdown.value for markdown in at.markdown)
        assert [button.label for button in at.button if button.label.startswith("Stop ")] == ["Stop first"]
        assert started == ["first"]

        next(button for button in at.button if button.label == "Cancel third").click().run()
        waiting = next(frame.value for frame in at.dataframe if "place" in frame.value.columns)
        assert waiting["training"].tolist() == ["second"]
        release.set()
        jobs = app_state.jobs()
        jobs.get("first").thread.join(10)  # the second starts as the first ends
        jobs.get("second").thread.join(10)
        assert started == ["first", "second"] and jobs.get("third").error == "Cancelled before it started."
        users = {run["name"]: run["user"] for run in app_state.workspace().catalogue.runs()}
        assert users == {"first": "ana@museum.org", "second": "ana@museum.org"}
    finally:
        release.set()
        app_state.jobs.clear()


def test_a_bad_trash_setting_is_named_and_the_default_used(empty_workspace, monkeypatch):
    monkeypatch.setenv("ARTCNN_TRASH_DAYS", "a week")
    write_dataset(empty_workspace.root / "datasets" / "tiny", classes=("han", "kom"))
    at = app("pages/datasets.py")
    assert any("ARTCNN_TRASH_DAYS must be a whole number of days" in warning.value for warning in at.warning)
    assert any("moves to the trash for 7 days" in markdown.value for markdown in at.markdown)


def test_a_bad_training_limit_is_named_and_the_default_used(empty_workspace, monkeypatch):
    import os

    import app_state

    monkeypatch.setenv("ARTCNN_MAX_TRAININGS", "many")
    app_state.jobs.clear()
    try:
        at = app("pages/train.py")
        assert any("ARTCNN_MAX_TRAININGS must be a whole number" in warning.value for warning in at.warning)
        assert app_state.jobs().config.limit == (os.cpu_count() or 1)
    finally:
        app_state.jobs.clear()
