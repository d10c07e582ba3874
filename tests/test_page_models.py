"""The Models page through streamlit's AppTest, on runs trained directly into the test's workspace."""

import shutil

import pytest

keras = pytest.importorskip("keras")

from app_pages import markdown, open_page  # noqa: E402
from builders import add_demo_dataset, add_run, write_dataset  # noqa: E402

from artcnn import storage, trash  # noqa: E402
from artcnn.catalogue import Catalogue  # noqa: E402
from artcnn.config import TrainConfig  # noqa: E402
from artcnn.workspace import BUILTIN_MODELS, Workspace  # noqa: E402

ONE_EPOCH = TrainConfig(epochs=1)


def listed(at) -> list[tuple[str, str]]:
    table = at.dataframe[0].value
    return list(zip(table["name"], table["kind"]))


def test_renders_on_an_empty_workspace(workspace):
    at = open_page("pages/models.py")
    builtin = sorted(path.name for path in BUILTIN_MODELS.glob("*") if path.suffix in storage.MODEL_SUFFIXES)
    if builtin:
        assert sorted(name for name, kind in listed(at) if kind == "built-in model") == builtin
    else:
        assert "No runs or models yet" in at.info[0].value


def test_lists_runs_and_models_with_downloads_compare_and_delete(workspace):
    dataset = add_demo_dataset(workspace)
    add_run(workspace, "one", dataset, ONE_EPOCH)
    add_run(workspace, "two", dataset, TrainConfig(epochs=2, dropout=False), stop_after_epoch=1)
    Catalogue(workspace / "catalogue.sqlite").record_run("one", "demo", "default", {})
    shutil.copy(workspace / "runs" / "one" / "model.keras", workspace / "models" / "one final.keras")

    at = open_page("pages/models.py")
    assert {("one", "run"), ("two", "run"), ("one final.keras", "saved model")} <= set(listed(at))
    table = at.dataframe[0].value.set_index("name")
    assert table.loc["one", "state"] == "finished" and table.loc["two", "state"] == "stopped"
    assert table.loc["one", "synthetic data"] == "SYNTHETIC" and table.loc["one", "test artworks (95%)"].endswith(")")

    at.selectbox(key="models_pick").set_value("run · one")
    at.run()
    assert "recipe **default** · 1 epoch · " in markdown(at) and at.get("plotly_chart")
    assert {metric.label for metric in at.metric} >= {"Test accuracy, tiles", "Test accuracy, artworks"}
    assert [button.label for button in at.get("download_button")] == ["Download .keras", "Download .h5"]
    confusion = next(frame.value for frame in at.dataframe if "predicted han" in frame.value.columns)
    assert list(confusion.index) == ["true han", "true kom"] and confusion.to_numpy().sum() > 0
    assert any(box.label == "Test artworks in the cell" for box in at.selectbox)

    compared = [frame.value for frame in at.dataframe if "" in frame.value.columns]
    assert len(compared) == 2 and {frame.loc["dropout", ""] for frame in compared} == {"True", "False"}

    at.selectbox(key="models_pick").set_value("run · two")
    at.run()
    assert not at.get("download_button")  # a stopped run has no model to download

    delete(at, "run", "two")
    assert not (workspace / "runs" / "two").exists()
    assert ("two", "run") not in listed(at) and any("The run two is in the trash" in s.value for s in at.success)

    at.selectbox(key="models_pick").set_value("model · one final.keras")
    at.run()
    delete(at, "model", "one final.keras")
    assert not (workspace / "models" / "one final.keras").exists()
    assert not at.exception

    # The trash lists both, who deleted them (nobody without sign-in) and when they go; Restore brings one back.
    trashed = next(frame.value for frame in at.dataframe if "deleted" in frame.value.columns)
    assert trashed["deleted"].tolist() == ["model one final.keras", "run two"] and trashed["by"].tolist() == ["", ""]
    at.selectbox(key="team trash pick").set_value(trash.trashed(Workspace.from_env())[1])
    next(button for button in at.button if button.label == "Restore").click().run()
    assert ("two", "run") in listed(at) and any("The run two is back" in s.value for s in at.success)
    assert (workspace / "runs" / "two" / "config.json").is_file()
    at.selectbox(key="models_pick").set_value("run · two").run()
    assert at.text_input(key="team delete run two").value == "", "the name typed before is not kept for a next time"


def delete(at, kind: str, name: str) -> None:
    """Delete from the Models page as a person does: type the name, move it to the trash."""
    at.text_input(key=f"team delete {kind} {name}").input(name).run()
    next(button for button in at.button if button.label == "Move to the trash").click().run()


def test_a_run_whose_model_a_classification_used_is_kept(workspace):
    add_run(workspace, "one", add_demo_dataset(workspace), ONE_EPOCH)
    Workspace.from_env().catalogue.start_classification("one (synthetic)", ["han", "kom"], "upload")
    at = open_page("pages/models.py")
    at.selectbox(key="models_pick").set_value("run · one").run()
    delete(at, "run", "one")
    assert any("The run 'one' is kept: 1 classification in the catalogue was made with its model" in error.value
               for error in at.error)
    assert (workspace / "runs" / "one" / "model.keras").is_file() and not trash.trashed(Workspace.from_env())


def test_a_download_in_the_other_format_keeps_the_metadata(workspace, tmp_path):
    run = add_run(workspace, "one", add_demo_dataset(workspace), ONE_EPOCH)
    converted = tmp_path / "one.h5"
    converted.write_bytes(storage.model_file_bytes(run / "model.keras", ".h5"))
    original = storage.read_metadata(run / "model.keras")
    assert storage.read_metadata(converted) == original
    model, metadata = storage.load_model(converted)
    assert model.input_shape == (None, 128, 128, 3) and metadata["classes"] == ["han", "kom"]
    assert storage.model_file_bytes(run / "model.keras", ".keras") == (run / "model.keras").read_bytes()
    with pytest.raises(ValueError, match="suffix must be .keras or .h5"):
        storage.model_file_bytes(run / "model.keras", ".pt")


def test_a_three_class_run_shows_every_class(workspace):
    dataset = write_dataset(workspace / "datasets" / "three", classes=("han", "kom", "photo"))
    add_run(workspace, "three", dataset, TrainConfig(epochs=1, input_size=32, batch_size=4, weights=None))
    at = open_page("pages/models.py")
    at.selectbox(key="models_pick").set_value("run · three").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "(han, kom, photo)" in markdown(at)
    confusions = [frame.value for frame in at.dataframe if "predicted photo" in frame.value.columns]
    assert len(confusions) == 3  # tiles and artworks, then artworks again with their cells to open
    assert all(list(frame.index) == ["true han", "true kom", "true photo"] for frame in confusions)
    assert confusions[1].to_numpy().sum() == 3 and (confusions[2] == confusions[1]).all().all()  # one a class


def test_a_run_training_now_cannot_be_deleted(workspace):
    import threading

    from streamlit.testing.v1.element_tree import Block

    import app_state

    add_run(workspace, "one", add_demo_dataset(workspace), ONE_EPOCH)
    release = threading.Event()
    job = app_state.jobs().start("one again", lambda progress, stop: release.wait(20), runs=("one",))
    try:
        at = open_page("pages/models.py")
        at.selectbox(key="models_pick").set_value("run · one").run()
        (popover,) = [block.proto.popover for block in at.main.children.values() if isinstance(block, Block)
                      and block.type == "popover" and block.proto.popover.label == "Delete run one"]
        assert popover.disabled and "stop it first" in popover.help
    finally:
        release.set()
        job.thread.join(5)
