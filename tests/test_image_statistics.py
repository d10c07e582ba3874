import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from artcnn.image_statistics import (FIRST_NAMES, NAMES, SIDE, StatisticsHead, _angle_histogram, _radial_amplitude,
                                     VIEWS, fit_head, head_for_artworks, image_statistics, picture_statistics,
                                     thumbnail_statistics, with_pictures)


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


def test_statistics_see_symmetry_scale_of_detail_hues_ink_and_paper():
    rng = np.random.default_rng(0)
    left = rng.integers(0, 256, (SIDE, SIDE // 2, 3), dtype=np.uint8)
    mirrored = named(Image.fromarray(np.concatenate([left, left[:, ::-1]], axis=1)))
    noise = named(Image.fromarray(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)))
    assert mirrored["mirror_left_right"] > 0.99 and mirrored["best_symmetry"] > 0.99
    assert abs(noise["mirror_left_right"]) < 0.05 and abs(noise["half_turn"]) < 0.05
    assert mirrored["fine_mirror_left_right"] > 0.95 and abs(noise["best_fine_symmetry"]) < 0.05
    # A symmetric design drawn by hand: mirrored as a whole, its grain is not.
    design = np.abs(np.linspace(-1, 1, SIDE))[None, :, None] * np.full((SIDE, SIDE, 3), 200.0)
    grained = design + rng.normal(0, 10, design.shape)
    hand = named(Image.fromarray(np.clip(grained, 0, 255).astype(np.uint8)))
    assert hand["mirror_left_right"] > 0.9 and abs(hand["fine_mirror_left_right"]) < 0.1
    # Pixel noise is all finest detail; a wash changes slowly, so little of its variance is in single pixels.
    wash = named(grainy_wash(0))
    assert noise["detail_1px"] > 0.6 > wash["detail_1px"]
    assert noise["detail_8px"] < 0.05
    assert noise["hue_entropy"] > np.log(10) and noise["saturated_share"] > 0.5
    drawing = Image.new("RGB", (SIDE, SIDE), "white")
    ImageDraw.Draw(drawing).line([(10, 10), (240, 200)], fill="black", width=6)
    lines = named(drawing)
    assert lines["light_share"] > 0.9 and 0.01 < lines["dark_share"] < 0.1
    assert lines["hue_entropy"] == 0 and lines["saturated_share"] == 0


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


def test_the_coarse_copy_sees_past_a_thumbnails_jpeg_noise():
    for picture in (flat_shapes(3, side=4 * SIDE), grainy_wash(3, side=900)):
        as_file, as_thumbnail = named(picture), dict(zip(NAMES, thumbnail_statistics(picture)))
        fine_gap = abs(as_thumbnail["log_colours"] - as_file["log_colours"])
        coarse_gap = abs(as_thumbnail["coarse_log_colours"] - as_file["coarse_log_colours"])
        assert coarse_gap < fine_gap / 3
    # The coarse copy is the small one averaged: a flat picture is still one colour.
    plain = named(Image.new("RGB", (500, 300), (30, 90, 200)))
    assert plain["coarse_log_colours"] == 0 and plain["coarse_top_colour_share"] == 1


def test_a_tiny_picture_is_measured_enlarged():
    statistics = named(Image.new("RGB", (1, 1), (200, 10, 10)))
    assert statistics["log_colours"] == 0 and statistics["top_colour_share"] == 1 and statistics["grain"] == 0
    assert np.isfinite(image_statistics(Image.new("L", (2, 40)))).all()


@pytest.mark.parametrize("height, width", [(8, 8), (7, 5), (5, 8), (1, 6), (64, 47), (47, 64)])
def test_the_radial_spectrum_from_its_real_half_equals_the_whole_spectrums(height, width):
    picture = np.random.default_rng(height * width).random((height, width)).astype(np.float32)
    whole = np.abs(np.fft.fftshift(np.fft.fft2(picture)))
    rows, columns = np.indices((height, width))
    radius = np.hypot(rows - height / 2, columns - width / 2).astype(int).ravel()
    expected = np.bincount(radius, whole.ravel()) / np.maximum(np.bincount(radius), 1)
    np.testing.assert_allclose(_radial_amplitude(picture), expected, rtol=1e-6, atol=1e-6)


def test_edge_directions_fall_in_np_histograms_bins_even_on_their_edges():
    edges = np.linspace(0, np.pi, 9)
    angles = np.r_[edges, np.nextafter(edges[1:], 0), np.random.default_rng(0).uniform(0, np.pi, 500)]
    weights = np.random.default_rng(1).uniform(0.1, 1, len(angles))
    for kind in (np.float64, np.float32):
        np.testing.assert_array_equal(_angle_histogram(angles.astype(kind), weights),
                                      np.histogram(angles.astype(kind), bins=8, range=(0, np.pi), weights=weights)[0])


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


def test_a_head_saved_before_the_later_statistics_reads_the_first_ones():
    statistics = np.stack([image_statistics(make(seed)) for make in (flat_shapes, grainy_wash) for seed in range(6)])
    labels = np.repeat([1, 0], 6)
    today = fit_head(statistics, labels, ["han", "kom"], weight=0.7).to_dict()
    first = len(FIRST_NAMES)
    # The metadata of a model saved then: no names, one mean, scale and coefficient row per first statistic.
    saved = {"classes": ["han", "kom"], "weight": 0.7, "mean": today["mean"][:first], "scale": today["scale"][:first],
             "coefficients": today["coefficients"][:first] + today["coefficients"][-1:]}
    older = StatisticsHead.from_metadata({"statistics": saved})
    assert older.names == FIRST_NAMES
    # Given today's full vectors, it reads its own columns of them.
    design = np.c_[(statistics[:, :first] - saved["mean"]) / saved["scale"], np.ones(len(statistics))]
    logits = design @ np.asarray(saved["coefficients"])
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(older.probabilities(statistics), expected)
    with pytest.raises(ValueError, match="Received: names with sharpness"):
        StatisticsHead(classes=("han", "kom"), weight=0.5, mean=(0.0,), scale=(1.0,),
                       coefficients=((0.0, 0.0), (0.0, 0.0)), names=("sharpness",))


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


def test_synthetic_pictures_of_one_class_from_two_makers_join_the_artworks():
    views = {view: pd.DataFrame(np.zeros((2, len(NAMES))), index=["a.png", "b.png"], columns=list(NAMES))
             for view in VIEWS}
    rows = pd.DataFrame({"artwork": ["a.png", "b.png"], "class": ["han", "kom"], "tile": ["t1", "t2"]})

    def made(prefix, count):
        return picture_statistics({view: {f"{prefix} {i}": np.full(len(NAMES), i + 1.0) for i in range(count)}
                                   for view in VIEWS})

    joined, joined_rows = with_pictures(views, rows, [("han", made("drawing", 2)), ("han", made("ink", 1)),
                                                      ("kom", made("generative", 0))])
    assert list(joined_rows["artwork"]) == ["a.png", "b.png", "drawing 0", "drawing 1", "ink 0"]
    assert list(joined_rows["class"]) == ["han", "kom", "han", "han", "han"]
    assert all(list(joined[view].index) == list(joined_rows["artwork"]) for view in VIEWS)
    assert joined["file"].loc["drawing 1"].tolist() == [2.0] * len(NAMES)
    # Nothing to add, or no statistics to add to: as given.
    assert with_pictures(views, rows, [("kom", made("generative", 0))]) == (views, rows)
    assert with_pictures(None, rows, [("han", made("ink", 1))]) == (None, rows)


def test_a_head_reads_how_far_from_the_usual_a_picture_lies_either_way():
    # Class 1 lies far from the usual in the first statistic, on either side: no straight line between the classes.
    rng = np.random.default_rng(0)
    statistics = rng.normal(size=(2000, len(NAMES)))
    labels = (np.abs(statistics[:, 0]) > 1.0).astype(int)
    head = fit_head(statistics, labels, ["han", "kom"], weight=0.7)

    assert head.squares and np.shape(head.coefficients) == (2 * len(NAMES) + 1, 2)
    # A straight line gets at most the larger class's share, 68%.
    assert (head.probabilities(statistics).argmax(axis=1) == labels).mean() > 0.85
    again = StatisticsHead.from_metadata({"statistics": head.to_dict()})
    np.testing.assert_allclose(again.probabilities(statistics), head.probabilities(statistics))
