import csv

import numpy as np
import pytest
from PIL import Image

from artcnn import cli
from artcnn.collection_map import map_columns
from artcnn.dataset import read_description, read_manifest
from artcnn.dataset_build import build_dataset
from artcnn.synthetic import generate_han, generate_kom
from tests.builders import TINY_TILING, artworks, write_finished_run

METADATA = {"classes": ["han", "kom"], "tiling": {"tile_size": 32}, "input_size": 32}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import keras

    from artcnn.storage import save_model

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dense(6)(x)))
    return save_model(model, tmp_path_factory.mktemp("model") / "tiny.keras", dict(METADATA))


def collection(folder, count=6):
    folder.mkdir()
    for index in range(count):
        generate = generate_han if index % 2 else generate_kom
        generate(np.random.default_rng(index), 70, 50).save(folder / f"art{index:02d}.png")
    return folder


def test_map_writes_the_csv_and_reuses_its_cache(model_file, tmp_path, capsys):
    arguments = ["map", str(model_file), str(collection(tmp_path / "art")), "--out", str(tmp_path / "map.csv"),
                 "--cache", str(tmp_path / "maps")]
    assert cli.main(arguments) == 0
    with open(tmp_path / "map.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == map_columns(["han", "kom"]) and len(rows) == 6
    assert cli.main(arguments) == 0
    assert "from the cache" in capsys.readouterr().out


def test_map_of_one_artwork_is_an_error_in_words(model_file, tmp_path, capsys):
    assert cli.main(["map", str(model_file), str(collection(tmp_path / "one", count=1)), "--out",
                     str(tmp_path / "map.csv"), "--cache", str(tmp_path / "maps")]) == 2
    assert "a map needs at least two artworks" in capsys.readouterr().err
    assert not (tmp_path / "map.csv").exists()


def test_heatmap_writes_the_artwork_with_the_map_over_it(model_file, tmp_path, capsys):
    generate_kom(np.random.default_rng(3), 80, 64).save(tmp_path / "one.png")
    assert cli.main(["heatmap", str(model_file), str(tmp_path / "one.png"), "--out", str(tmp_path / "heat.png"),
                     "--target", "kom"]) == 0
    assert Image.open(tmp_path / "heat.png").size == (80, 64)
    said = capsys.readouterr()
    assert "where the model looks for kom" in said.out and "warning" not in said.err


def test_heatmap_warns_that_a_synthetic_model_is_not_for_real_art(tmp_path, capsys):
    import keras

    from artcnn.storage import save_model

    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))))
    path = save_model(model, tmp_path / "demo.keras", {**METADATA, "synthetic": True})
    generate_kom(np.random.default_rng(3), 80, 64).save(tmp_path / "one.png")
    assert cli.main(["heatmap", str(path), str(tmp_path / "one.png"), "--out", str(tmp_path / "heat.png")]) == 0
    assert "warning: The model demo (synthetic) was trained on synthetic pictures only" in capsys.readouterr().err


def test_mistakes_prints_the_matrix_and_the_worst_first(tmp_path, capsys):
    run = write_finished_run(tmp_path, {"han2.png": 0.6, "kom2.png": 0.02, "kom1.png": 0.9})
    assert cli.main(["mistakes", str(run)]) == 0
    out = capsys.readouterr().out
    assert "han: 0, 1" in out and "kom: 1, 1" in out
    assert out.index("kom2.png: kom taken for han") < out.index("han2.png: han taken for kom")


def test_correct_builds_the_next_version_from_a_csv(tmp_path, capsys):
    made = artworks(tmp_path / "art", per_class=2)
    build_dataset(tmp_path / "art", tmp_path / "paintings", TINY_TILING)
    (tmp_path / "fixes.csv").write_text(f"file,label\n{made['han'][0]},kom\n", encoding="utf-8")
    assert cli.main(["correct", str(tmp_path / "paintings"), str(tmp_path / "fixes.csv")]) == 0
    assert "new dataset version" in capsys.readouterr().out
    manifest = read_manifest(read_description(tmp_path / "paintings_v2"))
    assert set(manifest.loc[manifest["artwork"] == str(made["han"][0].resolve()), "class"]) == {"kom"}
    (tmp_path / "bad.csv").write_text("path,class\nx.png,kom\n", encoding="utf-8")
    assert cli.main(["correct", str(tmp_path / "paintings"), str(tmp_path / "bad.csv")]) == 2
    assert "needs the columns file, label" in capsys.readouterr().err
