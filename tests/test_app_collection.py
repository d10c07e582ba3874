"""The pages' collection parts (app_collection) under streamlit's AppTest, each on a tiny model or run."""

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

keras = pytest.importorskip("keras")

from builders import TINY_TILING, artworks, write_finished_run  # noqa: E402

from artcnn.dataset_build import build_dataset  # noqa: E402
from artcnn.gradcam import NO_CONVOLUTION  # noqa: E402
from artcnn.image_statistics import NAMES, fit_head  # noqa: E402
from artcnn.storage import save_model  # noqa: E402
from artcnn.synthetic import generate_han, generate_kom  # noqa: E402

METADATA = {"classes": ["han", "kom"], "tiling": {"tile_size": 32}, "input_size": 32}


def page(function, *args) -> AppTest:
    at = AppTest.from_function(function, args=args, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tiny_model(path, convolution=True, metadata=METADATA):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs) if convolution else inputs
    x = keras.layers.Dense(6)(keras.layers.GlobalAveragePooling2D()(x))
    return save_model(keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x)), path, dict(metadata))


def pictures(folder, count):
    folder.mkdir()
    for index in range(count):
        (generate_han if index % 2 else generate_kom)(np.random.default_rng(index), 70, 50).save(
            folder / f"art{index}.png")
    return [str(path) for path in sorted(folder.iterdir())]


def map_part(model, files, key):
    import streamlit as st

    from app_collection import show_collection_map

    st.write(f"chosen: {len(show_collection_map(model, files, key))}")


def heat_part(model, file):
    from app_collection import show_heat_map

    show_heat_map(model, file)


def mistakes_part(run):
    from app_collection import show_mistakes

    show_mistakes(run)


def corrections_part(results, classes):
    from app_collection import show_corrections

    show_corrections(results, classes, 7)


def test_the_map_draws_every_artwork_and_one_artwork_gets_a_sentence(workspace, tmp_path):
    model = tiny_model(tmp_path / "tiny.keras")
    at = page(map_part, model, pictures(tmp_path / "art", 5), "classification-1")
    assert "5 artworks placed by PCA" in at.caption[0].value and "chosen: 5" in at.markdown[0].value
    assert len(at.get("plotly_chart")) == 1
    lonely = page(map_part, model, pictures(tmp_path / "one", 1), "classification-2")
    assert "a map needs at least two artworks" in lonely.info[0].value


def test_the_heat_map_shows_the_picture_and_a_model_without_convolution_is_told(workspace, tmp_path):
    file = pictures(tmp_path / "art", 1)[0]
    at = page(heat_part, tiny_model(tmp_path / "tiny.keras"), file)
    assert len(at.get("image")) == 1 and list(at.dataframe[0].value.columns) == ["x", "y", "p_han", "p_kom"]
    flat = page(heat_part, tiny_model(tmp_path / "flat.keras", convolution=False), file)
    assert flat.info[0].value == NO_CONVOLUTION
    assert not any("whole picture's statistics" in caption.value for caption in at.caption)
    # A model whose verdict blends in global statistics says how much of it the heat map explains.
    head = fit_head(np.random.default_rng(0).normal(size=(6, len(NAMES))), [0, 1] * 3, ["han", "kom"], weight=0.7)
    blended = page(heat_part, tiny_model(tmp_path / "head.keras", metadata={**METADATA, "statistics": head.to_dict()}),
                   file)
    assert any(caption.value.startswith("The tiles make 30% of this model's verdict; the other 70%")
               for caption in blended.caption)


def test_mistakes_open_each_cell_and_a_run_without_test_split_is_told(workspace, tmp_path):
    at = page(mistakes_part, write_finished_run(tmp_path / "good", {"han2.png": 0.6, "kom2.png": 0.02}))
    assert at.dataframe[0].value.values.tolist() == [[0, 1], [1, 0]]
    at.selectbox[0].select("true kom, predicted han (1)").run()
    assert at.dataframe[1].value["artwork"].tolist() == ["kom2.png"]
    assert "kom2.png" in at.markdown[1].value
    untested = page(mistakes_part, write_finished_run(tmp_path / "untested", {}, metrics={}))
    assert "has no test split" in untested.info[0].value


def test_corrected_verdicts_go_into_the_next_dataset_version(empty_workspace, tmp_path):
    made = artworks(tmp_path / "art", per_class=2)
    build_dataset(tmp_path / "art", empty_workspace.dataset_dir("paintings"), TINY_TILING)
    file = str(made["han"][0])
    results = pd.DataFrame({"file": [file, str(made["kom"][0])], "label": ["kom", "kom"], "confidence": [0.9, 0.6]})
    at = page(corrections_part, results, ["han", "kom"])
    assert at.multiselect[0].options == [made["kom"][0].name, made["han"][0].name], "the most uncertain first"
    at.multiselect[0].select(file).run()
    assert at.selectbox[0].options == ["han"]
    at.button[0].click().run()
    assert "paintings_v2 holds the 1 corrected artworks" in at.success[0].value
    (stored,) = empty_workspace.catalogue.corrections()
    assert (stored["label"], stored["predicted"], stored["classification"]) == ("han", "kom", 7)
