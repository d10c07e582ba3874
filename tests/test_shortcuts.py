import numpy as np
import pytest
from PIL import Image

import pandas as pd

from artcnn.shortcuts import check_shortcuts, fit_logistic, grouped_accuracy


def blobs(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Soft random colour fields: one content distribution for every class in these tests."""
    coarse = rng.integers(40, 220, (height // 16 + 2, width // 16 + 2, 3)).astype(np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.BILINEAR)
    noise = rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))


def collection(root, sizes: dict[str, list[tuple[int, int]]], per_source: int = 8):
    """root/<class>/<source>_<n>.jpg: han from one source, kom from two, same content distribution."""
    sources = {"han": ["ink"], "kom": ["alpha", "beta"]}
    for class_index, (name, names) in enumerate(sources.items()):
        (root / name).mkdir(parents=True)
        for source_index, source in enumerate(names):
            for number in range(per_source * (2 if name == "han" else 1)):
                rng = np.random.default_rng([class_index, source_index, number])
                width, height = sizes[name][number % len(sizes[name])]
                blobs(rng, width, height).save(root / name / f"{source}_{number}.jpg", quality=90)
    return root


def test_warns_when_classes_differ_in_size_and_says_what_to_do(tmp_path):
    art = collection(tmp_path, {"han": [(200, 150), (150, 210), (180, 170)], "kom": [(256, 256)]})
    report = check_shortcuts(art)

    assert report.evaluation == "each source left out in turn: alpha, beta"
    assert report.accuracy["total"] == 32 and report.chance == 0.5
    assert report.warns and "told apart without looking at the art" in report.findings[0]
    separating = [score.name for score in report.properties if score.separates]
    assert "image size" in separating or "aspect ratio" in separating
    assert any("kom: 16 of 16 are 256×256 px" in finding for finding in report.findings[1:])
    # Resizing is one item of advice, with the long side a front end puts in its own flag or field.
    [resize] = [item for item in report.advice if item.long_side is not None]
    assert resize.long_side == report.suggested_long_side and f"{resize.long_side}-pixel long side" in resize.text
    assert not any("python -m" in item.text or "--" in item.text for item in report.advice)
    assert set(report.features["source"]) == {"ink", "alpha", "beta"}


def test_silent_when_classes_share_one_size(tmp_path):
    art = collection(tmp_path, {"han": [(192, 192)], "kom": [(192, 192)]})
    report = check_shortcuts(art)

    assert not report.warns and report.findings == [] and report.advice == []
    assert not any(score.separates for score in report.properties)


def test_unreadable_files_are_skipped_and_reported(tmp_path):
    art = collection(tmp_path, {"han": [(192, 192)], "kom": [(192, 192)]}, per_source=3)
    (art / "kom" / "alpha_broken.jpg").write_bytes(b"not a jpeg")
    report = check_shortcuts(art)

    assert [entry["file"] for entry in report.skipped] == [str(art / "kom" / "alpha_broken.jpg")]
    assert len(report.features) == 12


def test_check_needs_two_classes(tmp_path):
    (tmp_path / "han").mkdir()
    blobs(np.random.default_rng(0), 64, 64).save(tmp_path / "han" / "a_1.png")
    with pytest.raises(ValueError, match="at least two classes"):
        check_shortcuts({"han": [tmp_path / "han" / "a_1.png"]})


def test_fit_logistic_separates_a_separable_problem():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(-2, 1, (30, 2)), rng.normal(2, 1, (30, 2))])
    y = np.r_[np.zeros(30, int), np.ones(30, int)]
    weights = fit_logistic(x, y, 2)
    predicted = (np.hstack([x, np.ones((60, 1))]) @ weights).argmax(axis=1)
    assert (predicted == y).mean() >= 0.95


def test_cli_shortcuts_prints_the_warning(tmp_path, capsys):
    from artcnn.cli import main

    art = collection(tmp_path, {"han": [(200, 150), (150, 210)], "kom": [(256, 256)]})
    assert main(["shortcuts", str(art)]) == 0
    out = capsys.readouterr().out
    assert "told apart without looking at the art" in out and "--long-side" in out
    assert main(["shortcuts", str(art), "--strict"]) == 1


def test_a_property_shared_by_every_artwork_separates_nothing():
    # Leave-one-source-out folds hold out one class's source at a time: a tie broken by float noise
    # toward the held-out class once made a constant property score 100%.
    rows = [{"artwork": f"{source}_{index}.png", "class": cls, "source": source, "constant": 1.0}
            for cls, sources in (("han", ("a", "b", "c", "d")), ("kom", ("e", "f", "g", "h")))
            for source in sources for index in range(2)]
    table = pd.DataFrame(rows)
    folds = [table["source"].eq(source).to_numpy() for source in table["source"].unique()]
    accuracy = grouped_accuracy(table, ["constant"], folds, ["han", "kom"])
    assert accuracy["value"] <= 0.5


def test_three_classes_one_saved_differently_is_found_and_progress_names_each_file(tmp_path):
    # han and kom as JPEG, photo as PNG, all 96×96 from one content distribution: only the files differ.
    for class_index, (name, suffix) in enumerate((("han", ".jpg"), ("kom", ".jpg"), ("photo", ".png"))):
        (tmp_path / name).mkdir()
        for source in ("a", "b"):
            for number in range(6):
                image = blobs(np.random.default_rng([class_index, ord(source), number]), 96, 96)
                image.save(tmp_path / name / f"{name}{source}_{number}{suffix}")
    events = []
    report = check_shortcuts(tmp_path, progress=events.append)

    assert [(event.what, event.done, event.total) for event in events] == [
        ("checking shortcuts", done, 36) for done in range(1, 37)]
    assert events[-1].message == "photob_5.png"
    assert report.chance == pytest.approx(1 / 3) and report.accuracy["total"] == 36
    assert report.warns and "always answering the largest class gets 33%" in report.findings[0]
    by_name = {score.name: score for score in report.properties}
    assert by_name["file format"].separates and not by_name["image size"].separates
    assert "photo: 12 PNG" in by_name["file format"].description
    # Re-encoding is advised once although format and bytes per pixel both point at it; nothing to resize.
    assert [item.long_side for item in report.advice] == [None]
    assert "Re-encode" in report.advice[0].text
