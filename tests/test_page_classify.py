"""The Classify page through streamlit's AppTest, with the shipped demo model."""

import io
from pathlib import Path

import pandas as pd
import pytest
import streamlit

from app_pages import open_page
from artcnn import trash
from artcnn.workspace import MAPS_FOLDER, classification_key
from builders import BROKEN, artworks

PAGE = "pages/classify.py"


def _downloads(monkeypatch) -> list[dict]:
    """What every st.download_button of the next runs serves, recorded on the way."""
    served, original = [], streamlit.download_button

    def recording(label, data, *args, **kwargs):
        served.append({"label": label, "data": data, **kwargs})
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    return served


def test_empty_workspace_preselects_the_shipped_demo_model(empty_workspace):
    at = open_page(PAGE)
    assert at.selectbox[0].value == 0 and "models/demo.keras" in at.selectbox[0].format_func(0)
    assert "SYNTHETIC" in at.selectbox[0].format_func(0)
    assert any("No classification yet" in info.value for info in at.info)


def test_uploads_are_classified_into_a_table_and_a_csv(empty_workspace, tmp_path, monkeypatch):
    made = artworks(tmp_path / "collection", per_class=2)
    served = _downloads(monkeypatch)
    at = open_page(PAGE)
    at.file_uploader[0].set_value([*[(p.name, p.read_bytes(), "image/png") for p in made["han"] + made["kom"]],
                                   ("broken.png", BROKEN, "image/png"), ("notes.txt", b"hello", "text/plain")])
    next(button for button in at.button if button.label == "Classify").click().run()
    assert not at.exception, [e.value for e in at.exception]

    table = at.dataframe[-1].value
    assert len(table) == 5 and table["thumbnail"].str.startswith("data:image/jpeg;base64,").sum() == 4
    assert set(table["label"]) <= {"han", "kom", "unreadable"} and (table["label"] == "unreadable").sum() == 1
    assert "notes.txt" in at.dataframe[0].value["file"].tolist()  # the skipped upload, with its reason
    broken = table[table["artwork"] == "broken.png"].iloc[0]
    assert broken["label"] == "unreadable" and pd.isna(broken["p_han"])
    assert broken["error"].startswith("not an image file that can be read") and "Pillow" not in broken["error"]
    good = table[table["label"] != "unreadable"]
    assert (good["error"] == "").all() and (good["note"] == "").all()  # empty cells are empty, not "None"
    # The demo model knows synthetic pictures only: said above the results and in every CSV row.
    assert any("The model demo (synthetic) was trained on synthetic pictures only" in w.value for w in at.warning)
    assert ((good["p_han"] + good["p_kom"] - 1).abs() < 1e-4).all() and (good["tiles"] >= 1).all()

    csv = pd.read_csv(io.BytesIO(served[-1]["data"]))
    assert list(csv.columns) == ["file", "sha256", "width", "height", "used_width", "used_height", "tiles", "p_han",
                                 "p_kom", "label", "confidence", "review", "model", "error", "note", "duplicate_of"]
    assert len(csv) == 5 and set(csv["model"]) == {"demo (synthetic)"}
    (stored,) = empty_workspace.catalogue.classifications()
    assert stored["artworks"] == 5 and stored["errors"] == 1 and stored["finished"]

    # Classifying the same uploads again stores no second copy of them.
    uploads = empty_workspace.upload_dir("classify")
    before = sorted(path.relative_to(uploads) for path in uploads.rglob("*"))
    next(button for button in at.button if button.label == "Classify").click().run()
    assert len(empty_workspace.catalogue.classifications()) == 2
    assert sorted(path.relative_to(uploads) for path in uploads.rglob("*")) == before and len(before) == 10

    # Filtering to one verdict narrows both the table and the CSV.
    kept = good["label"].iloc[0]
    next(box for box in at.multiselect if box.label == "Show verdicts").set_value([kept]).run()
    assert set(at.dataframe[-1].value["label"]) == {kept}
    assert len(pd.read_csv(io.BytesIO(served[-1]["data"]))) == (good["label"] == kept).sum()


def test_a_selected_artwork_is_drawn_with_its_tiles(populated_workspace):
    at = open_page(PAGE)
    (classification,) = populated_workspace.catalogue.classifications()
    at.session_state[f"results-{classification['id']}"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (picture,) = at.get("image")
    assert "tiles, each outlined in its likelier class's colour" in picture.captions[0]
    tiles = at.dataframe[-1].value
    assert list(tiles.columns) == ["tile", "x", "y", "side", "p(han)", "p(kom)"] and tiles["tile"].tolist()[0] == 1
    assert ((tiles["p(han)"] + tiles["p(kom)"] - 1).abs() < 1e-3).all()
    next(slider for slider in at.slider if slider.label.startswith("Overlay strength")).set_value(0.0).run()
    assert not at.exception and at.get("image")


def test_a_past_classification_reopens_in_a_new_session(populated_workspace):
    # A new AppTest is a new session, as after a server restart: the table comes from the catalogue.
    at = open_page(PAGE)
    assert "runs/first/model.keras" in at.selectbox[-1].format_func(at.selectbox[-1].value)
    table = at.dataframe[-1].value
    assert len(table) == 4 and table["error"].ne("").sum() == 1
    # The run's model has test metrics and the demo model none: the run's is preselected.
    assert "runs/first/model.keras" in at.selectbox[0].format_func(at.selectbox[0].value)


def test_deleting_a_classification_frees_its_model_for_the_trash(populated_copy):
    (classification,) = populated_copy.catalogue.classifications()
    with pytest.raises(ValueError, match="on the Classify page: choose one, then Delete classification"):
        trash.check_deletable(populated_copy, "run", "first")
    cached_map = populated_copy.root / MAPS_FOLDER / f"{classification_key(classification['id'])}.npz"
    cached_map.parent.mkdir(exist_ok=True)
    cached_map.write_bytes(b"map")
    at = open_page(PAGE)
    next(button for button in at.button if button.label == "Delete it").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [success.value for success in at.success] == [f"Classification #{classification['id']} is deleted."]
    assert any("No classification yet" in info.value for info in at.info)
    assert populated_copy.catalogue.classifications() == [] and not cached_map.exists()
    trash.check_deletable(populated_copy, "run", "first")


def test_a_folder_on_the_server_is_read_only_inside_the_named_collections(empty_workspace, tmp_path, monkeypatch):
    at = open_page(PAGE)
    assert "A folder on the server" not in at.radio[0].options  # no collection named by an administrator
    collections = tmp_path / "collections"
    made = artworks(collections / "paintings", per_class=1)
    private = artworks(tmp_path / "private", per_class=1)
    (collections / "paintings" / "han" / "link.png").symlink_to(private["han"][0])  # a link out of the collections
    monkeypatch.setenv("ARTCNN_COLLECTIONS", str(collections))
    at = open_page(PAGE)
    at.radio[0].set_value("A folder on the server").run()
    refused = {"": "Type the path of a folder inside", "missing": "There is no folder 'missing'",
               str(tmp_path / "private"): "is outside the collections this server may read",
               "../private": "is outside the collections this server may read"}
    for folder, said in refused.items():
        next(text for text in at.text_input if text.label.startswith("Folder")).set_value(folder)
        next(button for button in at.button if button.label == "Classify").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(said in error.value for error in at.error), (folder, [error.value for error in at.error])
        assert empty_workspace.catalogue.classifications() == []
    next(text for text in at.text_input if text.label.startswith("Folder")).set_value("paintings")
    next(button for button in at.button if button.label == "Classify").click().run()
    (stored,) = empty_workspace.catalogue.classifications()
    assert stored["source"] == str((collections / "paintings").resolve()) and stored["artworks"] == 2
    assert any("1 files in paintings link to places outside the collections" in w.value and "han/link.png" in w.value
               for w in at.warning)
    assert sorted(at.dataframe[-1].value["artwork"]) == sorted(path.name for paths in made.values() for path in paths)


def test_only_those_to_review_keeps_the_results_classify_marked(populated_workspace):
    (classification,) = populated_workspace.catalogue.classifications()
    marked = [Path(row["file"]).name for row in populated_workspace.catalogue.results(classification["id"])
              if row["review"]]
    at = open_page(PAGE)
    assert len(at.dataframe[-1].value) == 4
    next(box for box in at.checkbox if box.label.startswith("Only those to review")).check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert sorted(at.dataframe[-1].value["artwork"]) == sorted(marked)


def test_iiif_manifests_are_classified_canvas_by_canvas(empty_workspace, iiif_server, monkeypatch):
    served = _downloads(monkeypatch)
    at = open_page(PAGE)
    at.radio[0].set_value("IIIF manifests").run()
    next(button for button in at.button if button.label == "Classify").click().run()
    assert any("Give one or more IIIF manifest URLs" in error.value for error in at.error)
    at.text_area[0].set_value(f"{iiif_server.url}/v2/manifest.json\n\n")
    next(button for button in at.button if button.label == "Classify").click().run()
    assert not at.exception, [e.value for e in at.exception]

    table = at.dataframe[-1].value
    assert list(table["artwork"]) == ["recto", "verso (broken link)", "detail (plain image)"]
    assert set(table["title"]) == {"Evening Study"} and set(table["creator"]) == {"A. Painter"}
    assert "HTTP 404" in table["error"].iloc[1] and table["label"].ne("unreadable").tolist() == [True, False, True]
    csv = pd.read_csv(io.BytesIO(served[-1]["data"]))
    assert list(csv["canvas"]) == [f"{iiif_server.url}/v2/canvas/{n}" for n in (1, 2, 3)]
    (stored,) = empty_workspace.catalogue.classifications()
    assert stored["source"] == f"IIIF ({iiif_server.url}/v2/manifest.json)" and stored["artworks"] == 3


def test_a_classification_has_a_map_a_heat_map_and_corrections_into_a_dataset(empty_workspace, tmp_path):
    from builders import TINY_TILING

    from artcnn.dataset_build import build_dataset

    build_dataset(artworks(tmp_path / "own", per_class=2).get("han")[0].parent.parent,
                  empty_workspace.dataset_dir("own"), TINY_TILING)
    made = artworks(tmp_path / "collection", per_class=3)
    at = open_page(PAGE)
    at.file_uploader[0].set_value([*[(p.name, p.read_bytes(), "image/png") for p in made["han"] + made["kom"]],
                                   ("broken.png", BROKEN, "image/png")])
    next(button for button in at.button if button.label == "Classify").click().run()
    (classification,) = empty_workspace.catalogue.classifications()

    next(toggle for toggle in at.toggle if toggle.label.startswith("Map of the collection")).set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 1 and any("6 artworks placed by" in c.value for c in at.caption)

    table = at.dataframe[-1].value
    assert "duplicate_of" in table.columns and (table["duplicate_of"] == "").all()
    at.session_state[f"results-{classification['id']}"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    next(toggle for toggle in at.toggle if toggle.label.startswith("Where the model looks")).set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Where the model looks for" in caption for image in at.get("image") for caption in image.captions)

    wrong = str(made["han"][0].name)
    box = next(box for box in at.multiselect if box.label.startswith("Verdicts that are wrong"))
    box.set_value([file for file in box.options if file.endswith(wrong)] or [box.options[0]]).run()
    next(button for button in at.button if button.label == "Add the corrected artworks to own").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("holds the 1 corrected artworks" in success.value for success in at.success)
    assert len(empty_workspace.catalogue.corrections()) == 1 and len(empty_workspace.dataset_names()) == 2
