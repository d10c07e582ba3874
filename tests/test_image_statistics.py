import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from artcnn.image_statistics import (NAMES, SIDE, StatisticsHead, fit_head, head_for_artworks, image_statistics,
                                     thumbnail_statistics)


def named(image: Image.Image) -> dict[str, float]:
    return dict(zip(NAMES, image_statistics(image)))


def flat_shapes(seed: int, side: int = SIDE) -> Image.Image:
    """Code-like: flat colour rectangles with straight edges on white."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.integers(0, side - 60, 2)
        draw.rectangle([int(x), int(y), int(x) + 50, int(y) + 40], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return image


def grainy_wash(seed: int, side: int = 300) -> Image.Image:
    """Hand-like: a smooth wash of colour with paper grain."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, side)[None, :, None] * rng.uniform(60, 160, 3) + rng.uniform(60, 120, 3)
    pixels = ramp + rng.normal(0, 12, (side, side, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_statistics_tell_flat_fills_from_grain():
    flat, wash = named(flat_shapes(0)), named(grainy_wash(0))
    assert len(image_statistics(flat_shapes(0))) == len(NAMES)
    assert flat["log_colours"] < np.log(20) < wash["log_colours"]
    assert flat["top_colour_share"] > 0.5 > wash["top_colour_share"]
    assert flat["equal_neighbours"] > 0.8 > wash["equal_neighbours"]
    assert flat["grain"] < 0.01 < wash["grain"]
    assert flat["axis_aligned_edges"] > 0.9


def test_statistics_are_measured_on_a_small_copy_so_size_barely_matters():
    large, small = grainy_wash(1, side=3 * SIDE), grainy_wash(1, side=3 * SIDE)
    small.thumbnail((SIDE, SIDE))
    a, b = named(large), named(small)
    for name in ("log_colours", "top_colour_share", "saturation_mean", "grey_std", "spectrum_slope"):
        assert a[name] == pytest.approx(b[name], rel=0.1, abs=0.02), name


def test_a_thumbnail_flattens_what_a_file_shows():
    flat = flat_shapes(3, side=4 * SIDE)
    as_file, as_thumbnail = named(flat), dict(zip(NAMES, thumbnail_statistics(flat)))
    # JPEG compression leaves no two neighbours exactly equal where the file had flat fills.
    assert as_thumbnail["equal_neighbours"] < as_file["equal_neighbours"]
    assert as_thumbnail["log_colours"] > as_file["log_colours"]


def test_a_tiny_picture_is_measured_enlarged():
    statistics = named(Image.new("RGB", (1, 1), (200, 10, 10)))
    assert statistics["log_colours"] == 0 and statistics["top_colour_share"] == 1 and statistics["grain"] == 0
    assert np.isfinite(image_statistics(Image.new("L", (2, 40)))).all()


def test_a_head_learns_two_classes_and_survives_its_metadata():
    statistics = np.stack([image_statistics(make(seed)) for make in (flat_shapes, grainy_wash) for seed in range(6)])
    labels = np.repeat([1, 0], 6)
    head = fit_head(statistics, labels, ["han", "kom"], weight=0.7)
    probabilities = head.probabilities(statistics)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == labels).all()
    unseen = np.stack([image_statistics(flat_shapes(50)), image_statistics(grainy_wash(50))])
    assert head.probabilities(unseen).argmax(axis=1).tolist() == [1, 0]

    tile_means = np.array([[0.9, 0.1], [0.2, 0.8]])
    np.testing.assert_allclose(head.blend(tile_means, unseen), 0.3 * tile_means + 0.7 * head.probabilities(unseen))
    again = StatisticsHead.from_metadata({"statistics": head.to_dict()})
    np.testing.assert_allclose(again.probabilities(unseen), head.probabilities(unseen))
    assert StatisticsHead.from_metadata({}) is None


def test_three_classes_and_a_constant_statistic():
    rng = np.random.default_rng(0)
    statistics = rng.normal(size=(30, len(NAMES)))
    labels = np.repeat([0, 1, 2], 10)
    statistics[:, 0] += labels * 3
    statistics[:, 1] = 5.0  # the same for every artwork: it must not sway a new one
    head = fit_head(statistics, labels, ["a", "b", "c"], weight=1.0)
    assert (head.probabilities(statistics).argmax(axis=1) == labels).mean() > 0.8
    moved = statistics[:3].copy()
    moved[:, 1] = 500.0
    np.testing.assert_allclose(head.probabilities(moved), head.probabilities(statistics[:3]))


def test_bad_arguments_say_what_was_received():
    statistics = np.zeros((4, len(NAMES)))
    with pytest.raises(ValueError, match="at least two of the classes"):
        fit_head(statistics, [0, 0, 0, 0], ["han", "kom"], 0.5)
    with pytest.raises(ValueError, match=r"Received: statistics of shape \(4, 3\)"):
        fit_head(np.zeros((4, 3)), [0, 1, 0, 1], ["han", "kom"], 0.5)
    head = fit_head(np.random.default_rng(0).normal(size=(4, len(NAMES))), [0, 1, 0, 1], ["han", "kom"], 0.5)
    with pytest.raises(ValueError, match=r"Received: weight=0"):
        StatisticsHead(**{**head.__dict__, "weight": 0})


def test_head_for_artworks_fits_on_the_rows_artworks_only():
    rng = np.random.default_rng(1)
    names = [f"a{i}.png" for i in range(8)]
    table = pd.DataFrame(rng.normal(size=(8, len(NAMES))), index=names, columns=list(NAMES))
    rows = pd.DataFrame({"artwork": names[:6] * 2, "class": ["han", "kom"] * 6})
    head = head_for_artworks({"file": table}, rows, ["han", "kom"], 0.7)
    assert head is not None and head.weight == 0.7 and head.classes == ("han", "kom")
    # Artworks 6 and 7 are not in the rows: changing them changes nothing.
    moved = table.copy()
    moved.iloc[6:] += 100
    assert head_for_artworks({"file": moved}, rows, ["han", "kom"], 0.7) == head
    # A second view fits on each artwork twice: both views' statistics count.
    both = head_for_artworks({"file": table, "thumbnail": table + rng.normal(size=table.shape)}, rows,
                             ["han", "kom"], 0.7)
    assert both.mean != head.mean
    assert head_for_artworks({"file": table}, rows, ["han", "kom"], 0.0) is None
    assert head_for_artworks(None, rows, ["han", "kom"], 0.7) is None
    assert head_for_artworks({"file": table}, rows[rows["class"] == "kom"], ["han", "kom"], 0.7) is None
    with pytest.raises(ValueError, match="lack 1 artwork"):
        head_for_artworks({"file": table, "thumbnail": table.drop(index="a0.png")}, rows, ["han", "kom"], 0.7)
