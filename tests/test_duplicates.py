import csv
import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artcnn import cli
from artcnn.config import PredictConfig
from artcnn.dataset import read_description, read_manifest
from artcnn.duplicates import (
    DUPLICATE_DISTANCE,
    DuplicateFinder,
    conflict_warnings,
    group_duplicates,
    hamming,
    perceptual_hash,
)
from artcnn.splitting import split_artworks
from artcnn.synthetic import generate_han, generate_kom


def picture(index: int, size=(192, 160)) -> Image.Image:
    generate = generate_han if index % 2 else generate_kom
    return generate(np.random.default_rng([7, index]), *size)


def reencoded(image: Image.Image, quality: int = 60) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_resized_and_reencoded_copies_are_found_and_different_pictures_are_not():
    originals = [picture(index) for index in range(12)]
    for image in originals[:4]:
        original = perceptual_hash(image)
        copies = (image.resize((96, 80)), image.resize((48, 40)), reencoded(image), reencoded(image.resize((120, 100))))
        for copy in copies:
            assert hamming(original, perceptual_hash(copy)) <= DUPLICATE_DISTANCE
    hashes = [perceptual_hash(image) for image in originals]
    assert min(hamming(a, b) for a, b in itertools.combinations(hashes, 2)) > DUPLICATE_DISTANCE

    with_copies = {f"original{i}": value for i, value in enumerate(hashes)}
    with_copies["copy0"] = perceptual_hash(reencoded(originals[0].resize((96, 80))))
    with_copies["copy3"] = perceptual_hash(originals[3].resize((64, 53)))
    assert group_duplicates(with_copies) == [["original0", "copy0"], ["original3", "copy3"]]


def test_a_one_colour_picture_has_no_hash_and_repeats_nothing():
    assert perceptual_hash(Image.new("RGB", (50, 40), (0, 0, 0))) is None
    finder = DuplicateFinder()
    assert finder.first_of("black.png", None) is None and finder.first_of("white.png", None) is None


def test_group_duplicates_refuses_a_distance_beyond_the_hash():
    with pytest.raises(ValueError, match="max_distance=64"):
        group_duplicates({"a": 1}, max_distance=64)


def test_a_group_is_never_split_across_train_and_test():
    files = {name: [Path(f"{name}/{i}.png") for i in range(8)] for name in ("han", "kom")}
    groups = [[Path("han/0.png"), Path("han/1.png"), Path("han/2.png")], [Path("han/5.png"), Path("kom/5.png")]]
    for seed in range(20):
        split = split_artworks(files, 0.5, seed, groups)
        for group in groups:
            assert len({split[file] for file in group}) == 1
        for name in files:
            assert {split[file] for file in files[name]} == {"train", "test"}
    # Without groups a split is what it always was.
    assert split_artworks(files, 0.5, 3) == split_artworks(files, 0.5, 3, ())


def test_a_built_dataset_keeps_copies_together_and_lists_a_cross_class_copy(tmp_path, capsys):
    art = tmp_path / "art"
    for name in ("han", "kom"):
        (art / name).mkdir(parents=True)
    for index in range(4):
        picture(2 * index + 1).save(art / "han" / f"h{index}.png")
        picture(2 * index).save(art / "kom" / f"k{index}.png")
    picture(1).resize((96, 80)).save(art / "han" / "h0_small.png")
    reencoded(picture(1)).save(art / "han" / "h0_copy.jpg")
    reencoded(picture(3), quality=80).save(art / "kom" / "h1_filed_as_kom.jpg")

    code = cli.main(["tile", str(art), str(tmp_path / "dataset"), "--tile-size", "32", "--tiles-per-artwork", "2",
                     "--test-fraction", "0.5"])
    printed = capsys.readouterr()
    assert code == 0 and "groups of near-duplicate artworks, each kept on one side of the split: 2" in printed.out
    assert "labelling conflict" in printed.err and "h1_filed_as_kom.jpg (kom)" in printed.err

    dataset = read_description(tmp_path / "dataset")
    files = [sorted(Path(file).name for file in group["files"]) for group in dataset.duplicates]
    assert files == [["h0.png", "h0_copy.jpg", "h0_small.png"], ["h1.png", "h1_filed_as_kom.jpg"]]
    side = read_manifest(dataset).groupby("artwork")["split"].first()
    for group in dataset.duplicates:
        assert len({side[file] for file in group["files"]}) == 1
    (conflict,) = conflict_warnings(dataset.duplicates)
    assert "h1.png (han)" in conflict


def test_an_old_dataset_without_duplicates_still_reads(tmp_path):
    from tests.builders import write_dataset

    assert read_description(write_dataset(tmp_path)).duplicates == []


def test_a_repeated_artwork_is_marked_in_the_results_csv(tmp_path):
    import keras

    from artcnn.prediction import classify
    from artcnn.results_csv import write_results_csv

    folder = tmp_path / "collection"
    folder.mkdir()
    picture(1).save(folder / "a.png")
    picture(2).save(folder / "b.png")
    reencoded(picture(1).resize((120, 100))).save(folder / "c_copy_of_a.jpg")
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    metadata = {"classes": ["han", "kom"], "tiling": {"tile_size": 32}}
    results = classify((model, metadata), [folder], PredictConfig(batch_size=4))
    write_results_csv(results, tmp_path / "results.csv", ["han", "kom"], "tiny")

    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["duplicate_of"] for row in rows] == ["", "", str(folder / "a.png")]
