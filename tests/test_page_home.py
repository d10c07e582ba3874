"""The Home page through streamlit's AppTest."""

from app_pages import open_page
from artcnn.data import read_dataset

PAGE = "pages/home.py"


def _text(at) -> str:
    return "\n".join(element.value for element in [*at.markdown, *at.caption, *at.info, *at.success])


def test_empty_workspace_shows_zeros_and_the_demo_start(empty_workspace):
    at = open_page(PAGE)
    assert [metric.value for metric in at.metric][:2] == ["0", "0"]
    assert any(button.label == "Start with the synthetic demo" for button in at.button)
    assert "The workspace is empty" in _text(at)


def test_populated_workspace_lists_datasets_runs_and_classifications(populated_workspace):
    at = open_page(PAGE)
    assert [metric.value for metric in at.metric] == ["1", "1", str(len(populated_workspace.model_files())), "1"]
    tables = [frame.value for frame in at.dataframe]
    assert list(tables[0]["name"]) == ["tiny"] and list(tables[1]["name"]) == ["first"]
    assert tables[2]["artworks"].tolist() == [4] and tables[2]["unreadable"].tolist() == [1]


def test_demo_button_builds_the_synthetic_demo_dataset(empty_workspace):
    at = open_page(PAGE)
    next(button for button in at.button if button.label == "Start with the synthetic demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    info = read_dataset(empty_workspace.dataset_dir("demo"))
    assert info.synthetic and info.classes == ["han", "kom"] and info.tiling.tile_size == 128
    assert set(info.manifest["split"]) == {"train", "test"}
    assert [d["name"] for d in empty_workspace.catalogue.datasets()] == ["demo"]
    assert "Dataset `demo` is ready" in _text(at)
    assert at.metric[0].label == "Datasets" and at.metric[0].value == "1", "the counter drawn after the build"
    assert any(link.label.startswith("Next: train") for link in at.get("page_link"))
    # Once built, the button rebuilds from the same collection instead of failing on the existing folder.
    at.run()
    next(button for button in at.button if button.label.startswith("Rebuild")).click().run()
    assert not at.exception and read_dataset(empty_workspace.dataset_dir("demo")).hash == info.hash
