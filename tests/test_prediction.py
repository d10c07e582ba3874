import csv
import math
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

keras = pytest.importorskip("keras")

from artcnn.config import ImageLimits, PredictConfig  # noqa: E402
from artcnn.images import sha256_file  # noqa: E402
from artcnn.prediction import (  # noqa: E402
    NEEDS_REVIEW,
    classify,
    decide,
    model_tiling,
)
from artcnn.results_csv import results_to_frame, write_results_csv  # noqa: E402
from artcnn.storage import save_model  # noqa: E402

METADATA = {"classes": ["han", "kom"], "input_size": 32, "tiling": {"tile_size": 32, "blank_threshold": 0.0}}
BLACK, WHITE = (0, 0, 0), (255, 255, 255)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# p(kom) of a solid tile: the model below scores brightness, sigmoid(4 * (r + g + b) - 6) on a 0-1 scale.
P_BLACK, P_WHITE = sigmoid(-6), sigmoid(6)


@pytest.fixture(scope="module")
def brightness_model():
    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.full((3, 1), 4.0, dtype=np.float32), np.array([-6.0], dtype=np.float32)])
    return model


def solid(path, size, colour):
    Image.new("RGB", size, colour).save(path)
    return path


def half_and_half(path):
    """64×32: a black tile beside a white one, so the artwork mean is exactly 0.5."""
    image = Image.new("RGB", (64, 32), BLACK)
    image.paste(WHITE, (32, 0, 64, 32))
    image.save(path)
    return path


@pytest.fixture
def collection(tmp_path):
    folder = tmp_path / "collection"
    folder.mkdir()
    solid(folder / "a_dark.png", (64, 64), BLACK)
    solid(folder / "b_light.png", (32, 32), WHITE)
    half_and_half(folder / "c_half.png")
    good = (folder / "b_light.png").read_bytes()
    (folder / "d_broken.png").write_bytes(good[: len(good) // 2])
    (folder / "e_fake.jpg").write_text("not an image at all")
    (folder / "notes.txt").write_text("a note the folder search skips")
    return folder


def run(model, inputs, metadata=METADATA, **kwargs):
    return list(classify((model, metadata), inputs, PredictConfig(batch_size=kwargs.pop("batch_size", 3)), **kwargs))


def test_folder_gives_one_result_per_image_file_with_errors_for_bad_ones(brightness_model, collection):
    results = run(brightness_model, [collection])

    assert [r.file for r in results] == [str(collection / name) for name in
                                         ("a_dark.png", "b_light.png", "c_half.png", "d_broken.png", "e_fake.jpg")]
    dark, light, half, broken, fake = results
    assert (dark.tiles, dark.width, dark.height, dark.label, dark.error) == (4, 64, 64, "han", None)
    assert dark.probabilities["kom"] == pytest.approx(P_BLACK, abs=1e-5)
    assert dark.confidence == pytest.approx(1 - P_BLACK, abs=1e-5)
    assert (light.tiles, light.label) == (1, "kom")
    assert light.sha256 == sha256_file(collection / "b_light.png")
    assert half.probabilities["kom"] == pytest.approx((P_BLACK + P_WHITE) / 2, abs=1e-5)
    assert sorted((x, y, size) for x, y, size, _ in half.tile_boxes) == [(0, 0, 32), (32, 0, 32)]
    for x, y, size, probabilities in half.tile_boxes:
        assert probabilities[1] == pytest.approx(P_WHITE if x == 32 else P_BLACK, abs=1e-5)
    for bad in (broken, fake):
        assert bad.error and bad.label is None and bad.probabilities == {} and bad.tiles == 0
    assert "not an image" in fake.error or "cannot" in fake.error


def test_results_follow_the_input_order(brightness_model, collection, tmp_path):
    extra = solid(tmp_path / "z_first.png", (32, 32), BLACK)
    direct_text = tmp_path / "readme.txt"
    direct_text.write_text("given by name, so it is tried and reported")
    results = run(brightness_model, [extra, collection / "c_half.png", direct_text, collection / "a_dark.png"])

    assert [r.file for r in results] == [str(extra), str(collection / "c_half.png"), str(direct_text),
                                         str(collection / "a_dark.png")]
    assert [r.error is None for r in results] == [True, True, False, True]


def test_a_missing_input_or_a_folder_without_images_is_refused_before_the_model_loads(collection, tmp_path):
    (tmp_path / "empty").mkdir()
    never_loaded = tmp_path / "absent.keras"
    with pytest.raises(ValueError, match="absent_folder does not exist"):
        classify(never_loaded, [collection, tmp_path / "absent_folder"])
    with pytest.raises(ValueError, match="empty holds no images"):
        classify(never_loaded, [tmp_path / "empty"])


def test_a_picture_reduced_to_the_decode_limit_keeps_its_own_size_and_says_so(brightness_model, tmp_path):
    big, small = solid(tmp_path / "big.jpg", (400, 300), WHITE), solid(tmp_path / "small.png", (40, 30), BLACK)
    limits = ImageLimits(decode_pixels=3_000)
    big_result, small_result = list(classify((brightness_model, METADATA), [big, small],
                                             PredictConfig(batch_size=4, limits=limits)))

    used = (big_result.used_width, big_result.used_height)
    assert (big_result.width, big_result.height) == (400, 300) and used[0] * used[1] <= 3_000 and used[0] < 400
    assert big_result.note == (f"reduced from 400×300 to {used[0]}×{used[1]} pixels to stay within the decode limit "
                               "of 3,000 pixels")
    assert all(x + size <= used[0] and y + size <= used[1] for x, y, size, _ in big_result.tile_boxes)
    assert (small_result.width, small_result.used_width, small_result.note) == (40, 40, "")
    out = tmp_path / "results.csv"
    write_results_csv([big_result, small_result], out, ["han", "kom"], "m")
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["width"], row["used_width"], row["note"]) for row in rows] == [
        ("400", str(used[0]), big_result.note), ("40", "40", "")]


def test_small_artworks_share_batches(brightness_model, tmp_path, monkeypatch):
    paths = [solid(tmp_path / f"tiny_{i:02d}.png", (20, 20), BLACK if i % 2 else WHITE) for i in range(10)]
    batch_sizes = []
    original = brightness_model.predict_on_batch

    def counting(batch):
        batch_sizes.append(int(batch.shape[0]))
        return original(batch)

    monkeypatch.setattr(brightness_model, "predict_on_batch", counting)
    progress = []
    results = run(brightness_model, paths, batch_size=4, progress=progress.append)

    assert batch_sizes == [4, 4, 2]
    assert [r.label for r in results] == ["kom", "han"] * 5
    assert all(r.tiles == 1 for r in results)
    assert [(event.what, event.done, event.total) for event in progress] == [
        ("classifying", done, None) for done in range(1, 11)]
    assert [event.payload for event in progress] == results and progress[0].message == "tiny_00.png"


def test_results_stream_before_all_files_are_read(brightness_model, tmp_path):
    paths = [solid(tmp_path / f"art_{i:02d}.png", (32, 32), BLACK) for i in range(40)]
    handed_out = []

    def lazily():
        for path in paths:
            handed_out.append(path)
            yield path

    results = classify((brightness_model, METADATA), lazily(), PredictConfig(batch_size=1))
    first = next(results)
    assert first.file == str(paths[0])
    assert len(handed_out) < len(paths)
    assert len(list(results)) == len(paths) - 1


def test_stop_ends_the_run_early(brightness_model, tmp_path):
    paths = [solid(tmp_path / f"art_{i:02d}.png", (32, 32), WHITE) for i in range(30)]
    stop = threading.Event()

    def stop_after_two(event):
        if event.done == 2:
            stop.set()

    results = run(brightness_model, paths, batch_size=1, progress=stop_after_two, stop=stop)
    assert 2 <= len(results) < len(paths)


def test_model_file_and_loaded_model_agree(brightness_model, collection, tmp_path):
    path = save_model(brightness_model, tmp_path / "brightness.keras", METADATA)
    from_file = list(classify(path, [collection], PredictConfig(batch_size=3)))
    assert from_file == run(brightness_model, [collection])


@pytest.mark.parametrize(
    ("p_kom", "metadata", "label"),
    [
        (0.55, {}, "kom"),
        (0.45, {}, "han"),
        (0.5, {"threshold": 0.5, "review_band": [0.3, 0.7]}, NEEDS_REVIEW),
        (0.8, {"threshold": 0.5, "review_band": [0.3, 0.7]}, "kom"),
        (0.2, {"threshold": 0.5, "review_band": [0.3, 0.7]}, "han"),
        (0.8, {"threshold": 0.9}, "han"),
    ],
)
def test_decide_applies_threshold_and_review_band(p_kom, metadata, label):
    assert decide(np.array([1 - p_kom, p_kom]), ["han", "kom"], metadata)[0] == label


def test_review_band_marks_undecided_artworks(brightness_model, collection):
    calibrated = {**METADATA, "threshold": 0.5, "review_band": [0.25, 0.75]}
    labels = [r.label for r in run(brightness_model, [collection], metadata=calibrated)]
    assert labels == ["han", "kom", NEEDS_REVIEW, None, None]


def test_csv_has_one_row_per_artwork_with_all_columns(brightness_model, collection, tmp_path):
    out = tmp_path / "results.csv"
    written = write_results_csv(classify((brightness_model, METADATA), [collection]), out, ["han", "kom"],
                                "brightness.keras")

    with open(out, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == ["file", "sha256", "width", "height", "used_width", "used_height", "tiles", "p_han",
                                 "p_kom", "label", "confidence", "review", "model", "error", "note", "duplicate_of"]
    assert written == len(rows) == 5
    assert {row["model"] for row in rows} == {"brightness.keras"}
    assert float(rows[2]["p_kom"]) == pytest.approx(0.5, abs=1e-5)
    # Readable rows: every class's probability, a review flag and an empty (not "None") error.
    for row in rows[:3]:
        assert row["error"] == "" and row["p_han"] and row["p_kom"] and row["review"] in ("True", "False")
    assert [row["review"] for row in rows[:3]] == ["False", "False", "True"]
    assert rows[3]["p_kom"] == "" and rows[3]["label"] == "" and rows[3]["review"] == "" and rows[3]["error"]


def test_csv_refuses_results_without_a_probability_for_every_class(brightness_model, collection, tmp_path):
    results = run(brightness_model, [collection / "a_dark.png"])
    with pytest.raises(ValueError, match=r"a_dark.png was classified into han, kom.*classes=\['han', 'kom', 'cat'\]"):
        write_results_csv(results, tmp_path / "out.csv", ["han", "kom", "cat"], "m")


def test_csv_keeps_finished_rows_when_the_run_fails(tmp_path, brightness_model, collection):
    out = tmp_path / "partial.csv"

    def crashing():
        yield from run(brightness_model, [collection / "a_dark.png", collection / "b_light.png"])
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        write_results_csv(crashing(), out, ["han", "kom"], "m")
    assert len(out.read_text().splitlines()) == 3


def test_results_to_frame(brightness_model, collection):
    frame = results_to_frame(run(brightness_model, [collection]), ["han", "kom"])
    assert list(frame.columns) == ["file", "sha256", "width", "height", "used_width", "used_height", "tiles", "p_han",
                                   "p_kom", "label", "confidence", "review", "error", "note", "duplicate_of"]
    assert len(frame) == 5 and frame["error"].notna().sum() == 2


def test_low_confidence_and_needs_review_mark_results_for_review(brightness_model, collection):
    def reviewed(low_confidence, metadata=METADATA):
        config = PredictConfig(batch_size=3, low_confidence=low_confidence)
        return [r.review for r in classify((brightness_model, metadata), [collection], config)]

    # dark and light are sure (p ≈ 0.9975), the half-and-half artwork sits at 0.5; unreadable files have no verdict.
    assert reviewed(0.7) == [False, False, True, False, False]
    assert reviewed(0.999) == [True, True, True, False, False]
    assert reviewed(0.0) == [False, False, False, False, False]
    # A calibrated model's "needs review" is marked whatever the threshold.
    calibrated = {**METADATA, "threshold": 0.5, "review_band": [0.25, 0.75]}
    assert reviewed(0.0, calibrated) == [False, False, True, False, False]


def test_a_classification_given_a_catalogue_is_recorded_as_it_streams(brightness_model, collection, tmp_path):
    from artcnn.catalogue import open_catalogue

    catalogue = open_catalogue(tmp_path / "catalogue.sqlite")
    results = classify((brightness_model, METADATA), [collection], PredictConfig(batch_size=3), catalogue=catalogue,
                       model_name="models/brightness.keras", source="collection")
    first = next(results)
    (summary,) = catalogue.classifications()
    assert summary["id"] == results.record and summary["artworks"] == 1 and summary["finished"] is None
    rest = list(results)
    (summary,) = catalogue.classifications()
    assert (summary["model"], summary["source"], summary["classes"]) == ("models/brightness.keras", "collection",
                                                                         ["han", "kom"])
    assert summary["artworks"] == 5 and summary["errors"] == 2 and summary["finished"]
    stored = catalogue.results(results.record)
    assert [row["file"] for row in stored] == [r.file for r in [first, *rest]]
    assert [row["review"] for row in stored] == [r.review for r in [first, *rest]]

    stop = threading.Event()
    stopped = classify((brightness_model, METADATA), [collection], PredictConfig(batch_size=1), catalogue=catalogue,
                       progress=lambda event: stop.set(), stop=stop)
    list(stopped)
    assert catalogue.classifications()[0]["id"] == stopped.record
    assert catalogue.classifications()[0]["finished"] is None and catalogue.classifications()[0]["model"] == "model"


def test_parallel_readers_give_the_results_of_one_reader(brightness_model, tmp_path):
    paths = [solid(tmp_path / f"art_{i:02d}.png", (32 * (1 + i % 3), 32), BLACK if i % 2 else WHITE) for i in range(25)]
    (tmp_path / "art_99.png").write_bytes(b"broken")
    one = list(classify((brightness_model, METADATA), [tmp_path], PredictConfig(batch_size=5, read_workers=1,
                                                                                read_ahead=1)))
    many = list(classify((brightness_model, METADATA), [tmp_path], PredictConfig(batch_size=5, read_workers=4,
                                                                                 read_ahead=7)))
    assert many == one and len(one) == 26 and one[-1].error and [r.tiles for r in one[:3]] == [1, 2, 3]


@pytest.mark.parametrize(("field", "value"), [("read_workers", -1), ("read_ahead", 0)])
def test_reading_settings_are_checked(field, value):
    with pytest.raises(ValueError, match=f"Received: {field}={value}"):
        PredictConfig(**{field: value})


def test_a_model_with_a_statistics_head_blends_each_artworks_statistics(brightness_model, collection):
    from artcnn.image_statistics import NAMES, StatisticsHead, image_statistics

    # Reads only the grey level's spread: sure of kom for the half-black, half-white artwork, of han otherwise.
    coefficients = np.zeros((len(NAMES) + 1, 2))
    coefficients[NAMES.index("grey_std"), 1] = 40.0
    coefficients[-1, 1] = -10.0
    head = StatisticsHead(classes=("han", "kom"), weight=0.5, mean=(0.0,) * len(NAMES), scale=(1.0,) * len(NAMES),
                          coefficients=tuple(map(tuple, coefficients)))
    plain = {Path(r.file).name: r for r in run(brightness_model, [collection])}
    blended = {Path(r.file).name: r for r in run(brightness_model, [collection],
                                                  metadata={**METADATA, "statistics": head.to_dict()})}
    for name in ("a_dark.png", "b_light.png", "c_half.png"):
        statistics = image_statistics(Image.open(collection / name))
        expected = head.blend([[plain[name].probabilities["han"], plain[name].probabilities["kom"]]], [statistics])[0]
        assert [blended[name].probabilities[c] for c in ("han", "kom")] == pytest.approx(expected)
        assert blended[name].tile_boxes == plain[name].tile_boxes
    assert blended["c_half.png"].label == "kom" and blended["b_light.png"].label == "han"
    assert blended["d_broken.png"].error == plain["d_broken.png"].error


def test_a_model_trained_with_whole_views_also_scores_each_artworks_whole(brightness_model, tmp_path):
    # Black, white, white, black: the grid's four tiles, and a whole view (the centre square, between two grid
    # tiles) that is white.
    image = Image.new("RGB", (128, 32), BLACK)
    image.paste(WHITE, (32, 0, 96, 32))
    image.save(tmp_path / "bands.png")
    plain, = run(brightness_model, [tmp_path / "bands.png"])

    def with_whole_view(**tiling):
        return run(brightness_model, [tmp_path / "bands.png"],
                   metadata={**METADATA, "tiling": {**METADATA["tiling"], "whole_view": True, **tiling}})[0]

    details = (2 * P_BLACK + 2 * P_WHITE) / 4
    assert plain.tiles == 4 and plain.probabilities["kom"] == pytest.approx(details)
    # The whole view weighs what it did in training: one tile beside tiles_per_artwork random ones.
    whole = with_whole_view(tiles_per_artwork=1)
    assert whole.tiles == 5 and whole.probabilities["kom"] == pytest.approx((details + P_WHITE) / 2)
    assert whole.tile_boxes[-1][:3] == (48, 0, 32)
    assert with_whole_view(tiles_per_artwork=3).probabilities["kom"] == pytest.approx(0.75 * details + 0.25 * P_WHITE)
    # A model trained on grid tiles saw the whole view as one tile among them.
    assert with_whole_view(grid=True).probabilities["kom"] == pytest.approx((2 * P_BLACK + 3 * P_WHITE) / 5)
    # A model saved before whole views existed, or with no tiling at all (the study's H5), was trained without.
    assert not model_tiling(METADATA).whole_view and not model_tiling({}).whole_view
