"""The Datasets page through streamlit's AppTest, uploads included."""

import io

from PIL import Image

from app_pages import open_page, zipped
from builders import BROKEN, artworks
from artcnn import trash
from artcnn.data import read_dataset

PAGE = "pages/datasets.py"


def _button(at, label):
    return next(button for button in at.button if button.label == label)


def _number(at, label):
    return next(widget for widget in at.number_input if widget.label.startswith(label))


def test_empty_workspace_offers_the_upload_form(empty_workspace):
    at = open_page(PAGE)
    assert [uploader.label for uploader in at.file_uploader] == ["Artworks of class `han`", "Artworks of class `kom`"]
    assert any("No dataset yet" in info.value for info in at.info)


def test_bad_class_names_are_refused_before_anything_is_built(empty_workspace):
    at = open_page(PAGE)
    next(text for text in at.text_input if text.label.startswith("Classes")).set_value("han").run()
    assert any("at least two classes" in error.value and "named differently" in error.value for error in at.error)
    assert _button(at, "Build dataset").disabled
    next(text for text in at.text_input if text.label.startswith("Classes")).set_value("han, ../kom").run()
    assert any("class name must be" in error.value for error in at.error)


def test_uploaded_files_and_zips_become_a_dataset_with_skipped_files_listed(empty_workspace, tmp_path):
    made = artworks(tmp_path / "collection", per_class=3)
    at = open_page(PAGE)
    next(text for text in at.text_input if text.label == "Dataset name").set_value("uploaded")
    han, kom = at.file_uploader
    han.set_value([*[(path.name, path.read_bytes(), "image/png") for path in made["han"]],
                   ("broken.png", BROKEN, "image/png")])
    kom.set_value([("kom.zip", zipped(made["kom"], {"collection/readme.txt": b"notes"}), "application/zip")])
    _number(at, "Tile size").set_value(64)
    _number(at, "Tiles per artwork").set_value(3)
    next(box for box in at.checkbox if box.label == "Also a tile of the whole artwork").check()
    _button(at, "Build dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]

    info = read_dataset(empty_workspace.dataset_dir("uploaded"))
    assert info.tiling.tile_size == 64 and info.tiling.whole_view and info.classes == ["han", "kom"]
    assert info.manifest.groupby("class")["artwork"].nunique().to_dict() == {"han": 3, "kom": 3}
    assert [d["name"] for d in empty_workspace.catalogue.datasets()] == ["uploaded"]
    skipped = "\n".join(" ".join(map(str, frame.value.to_numpy().ravel())) for frame in at.dataframe)
    assert "broken.png" in skipped and "readme.txt" in skipped
    assert any("uploaded" == box.value for box in at.selectbox)
    assert [len(image.value) for image in at.get("image")] == [8, 8], "a preview grid of tiles per class"

    # Building again under the same name is refused unless Replace is ticked.
    _button(at, "Build dataset").click().run()
    assert any("exists" in error.value for error in at.error)

    # Deleting asks for the name typed, then moves the dataset to the trash.
    confirm = at.text_input(key="team delete dataset uploaded")
    confirm.input("upload").run()
    _button(at, "Move to the trash").click().run()
    assert any("Type the name uploaded exactly" in error.value for error in at.error)
    assert empty_workspace.dataset_names() == ["uploaded"]
    at.text_input(key="team delete dataset uploaded").input("uploaded").run()
    _button(at, "Move to the trash").click().run()
    assert not at.exception and empty_workspace.dataset_names() == []
    assert any("The dataset uploaded is in the trash" in success.value for success in at.success)
    (item,) = trash.trashed(empty_workspace)
    assert (item.kind, item.name, item.user) == ("dataset", "uploaded", None)


def test_populated_workspace_shows_counts_and_preview(populated_workspace):
    at = open_page(PAGE)
    assert at.selectbox[0].value == "tiny"
    counts = at.dataframe[0].value
    assert counts.loc["han", "train tiles"] > 0 and counts.loc["kom", "test artworks"] > 0
    assert any("SYNTHETIC" in warning.value for warning in at.warning)


def test_shortcut_check_reports_on_the_chosen_dataset(populated_workspace):
    at = open_page(PAGE)
    _button(at, "Check for shortcuts").click().run()
    assert not at.exception
    # The tiny demo's kom works are flat colour saved as PNG: their bytes per pixel give them away.
    (verdict,) = [message.value for message in at.warning if "without looking at the art" in message.value]
    assert "bytes per pixel alone" in verdict and not at.success
    # Findings and advice are two lists with the heading between them, not run into a bullet.
    assert verdict.startswith("- ") and "\n\n**What to do**\n\n- " in verdict


def test_the_same_zip_for_both_classes_is_one_short_error_and_a_list(empty_workspace, tmp_path):
    made = artworks(tmp_path / "collection", per_class=3)
    archive = zipped(made["han"] + made["kom"], {})
    at = open_page(PAGE)
    for uploader in at.file_uploader:
        uploader.set_value([("art.zip", archive, "application/zip")])
    _number(at, "Tile size").set_value(64)
    _button(at, "Build dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [error.value for error in at.error]
    assert error.startswith("Class 'kom' has no usable artwork: all 6 of its files were skipped")
    assert "give each class its own artworks" in error and str(tmp_path) not in error
    assert any("6 files skipped; nothing was built." in warning.value for warning in at.warning)
    (listed,) = [frame.value for frame in at.dataframe]
    assert len(listed) == 6 and listed["file"].str.startswith("kom/art/collection/").all()
    assert listed["reason"].str.startswith("same file as ").all() and not listed["reason"].str.contains("/").any()


def test_near_duplicates_are_named_as_a_conflict_or_kept_on_one_side(empty_workspace, tmp_path):
    made = artworks(tmp_path / "collection", per_class=3)
    original, other = made["han"][:2]
    # A resized, re-encoded copy of one han artwork filed under kom (a conflict), of another under han too.
    uploads = {"han": [*made["han"], ("han copy.jpg", _smaller(other))],
               "kom": [*made["kom"], ("kom copy.jpg", _smaller(original))]}
    at = open_page(PAGE)
    for uploader, files in zip(at.file_uploader, uploads.values()):
        uploader.set_value([(item[0], _jpeg(item[1]), "image/jpeg") if isinstance(item, tuple)
                            else (item.name, item.read_bytes(), "image/png") for item in files])
    _number(at, "Tile size").set_value(64)
    _button(at, "Build dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (conflict,) = [warning.value for warning in at.warning if "labelling conflict" in warning.value]
    assert f"han/{original.name} (han)" in conflict and "kom/kom copy.jpg (kom)" in conflict
    assert str(empty_workspace.root) not in conflict
    assert any("1 groups of near-duplicate artworks" in info.value for info in at.info)


def _smaller(path):
    with Image.open(path) as image:
        return image.convert("RGB").resize((image.width * 3 // 4, image.height * 3 // 4))


def _jpeg(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_a_dataset_built_before_the_current_statistics_has_them_measured_again(populated_copy):
    import pandas as pd

    from artcnn.dataset import STATISTICS_FILE
    from artcnn.image_statistics import FIRST_NAMES

    folder = populated_copy.dataset_dir("tiny")
    pd.read_csv(folder / STATISTICS_FILE)[["artwork", "view", *FIRST_NAMES]].to_csv(folder / STATISTICS_FILE,
                                                                                   index=False)
    manifest = pd.read_csv(folder / "manifest.csv")
    kept = manifest.copy()
    # One artwork moved away since the dataset was built: the page names it and keeps the statistics as they are.
    moved = manifest["artwork"].iloc[0]
    manifest["artwork"] = manifest["artwork"].replace(moved, moved + ".moved")
    manifest.to_csv(folder / "manifest.csv", index=False)
    at = open_page(PAGE)
    assert any("built before the artworks' current global statistics" in caption.value for caption in at.caption)
    _button(at, "Measure the statistics again").click().run()
    assert not at.exception
    (error,) = [error.value for error in at.error]
    assert "no longer where the dataset found it" in error and str(populated_copy.root) not in error

    kept.to_csv(folder / "manifest.csv", index=False)
    _button(at, "Measure the statistics again").click().run()
    assert not at.exception and not at.error
    assert any("Global statistics of 8 artworks measured again" in message.value for message in at.success)
    assert not any(button.label == "Measure the statistics again" for button in at.button)


def test_a_damaged_statistics_file_is_named_and_can_be_measured_anew(populated_copy):
    import pandas as pd

    from artcnn.dataset import STATISTICS_FILE

    folder = populated_copy.dataset_dir("tiny")
    pd.read_csv(folder / STATISTICS_FILE).drop(columns=["view"]).to_csv(folder / STATISTICS_FILE, index=False)
    at = open_page(PAGE)
    assert any("lacks the column(s) view" in error.value for error in at.error)
    assert not any("built before the artworks' current global statistics" in caption.value for caption in at.caption)
    _button(at, "Measure the statistics again").click().run()
    assert not at.exception and not at.error
    assert any("measured again" in message.value for message in at.success)
