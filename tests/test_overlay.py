import base64
import io

import pytest
from PIL import Image

from artcnn.images import ArtworkError
from artcnn.overlay import class_colour, draw_tile_probabilities, thumbnail_data_url, tile_table

CLASSES = ["han", "kom"]


def _grey(width, height):
    return Image.new("RGB", (width, height), (128, 128, 128))


def _dominant(pixel, colour):
    """Whether the pixel leans towards `colour`'s strongest channel over its weakest."""
    strong, weak = max(range(3), key=lambda c: colour[c]), min(range(3), key=lambda c: colour[c])
    return pixel[strong] > pixel[weak] + 20


def test_each_tile_is_tinted_in_its_likelier_class_colour():
    boxes = [(0, 0, 100, [0.9, 0.1]), (100, 0, 100, [0.2, 0.8])]
    drawn = draw_tile_probabilities(_grey(200, 100), boxes, CLASSES)
    assert drawn.width == 200 and drawn.height > 100  # the legend sits below the artwork
    assert _dominant(drawn.getpixel((50, 80)), class_colour(0))
    assert _dominant(drawn.getpixel((150, 80)), class_colour(1))


def test_a_whole_view_lies_under_the_details_it_holds_whatever_their_order():
    # The whole view (the last tile, as prediction lists it) covers the details; each detail keeps its own tint.
    boxes = [(0, 0, 100, [0.9, 0.1]), (100, 0, 100, [0.2, 0.8]), (0, 0, 200, [0.05, 0.95])]
    drawn = draw_tile_probabilities(_grey(200, 200), boxes, CLASSES)
    assert _dominant(drawn.getpixel((50, 50)), class_colour(0))
    assert all(_dominant(drawn.getpixel(place), class_colour(1)) for place in ((150, 50), (50, 150)))


def test_surer_tiles_are_tinted_more_strongly():
    boxes = [(0, 0, 100, [0.55, 0.45]), (100, 0, 100, [0.99, 0.01])]
    drawn = draw_tile_probabilities(_grey(200, 100), boxes, CLASSES)
    unsure, sure = drawn.getpixel((50, 80)), drawn.getpixel((150, 80))
    # class 0's colour is blue: the surer tile is bluer
    assert sure[2] - sure[0] > unsure[2] - unsure[0] > 0


def test_the_artwork_shows_through_a_light_adjustable_overlay():
    boxes = [(0, 0, 100, [0.99, 0.01]), (100, 0, 100, [0.01, 0.99])]
    light = draw_tile_probabilities(_grey(200, 100), boxes, CLASSES)
    outlines = draw_tile_probabilities(_grey(200, 100), boxes, CLASSES, opacity=0.0)
    strong = draw_tile_probabilities(_grey(200, 100), boxes, CLASSES, opacity=1.0)
    inside = (50, 60)
    assert outlines.getpixel(inside) == (128, 128, 128)  # outlines only: the artwork untouched inside
    assert _dominant(outlines.getpixel((0, 60)), class_colour(0))  # ...and the tile's edge in its colour
    # The default keeps most of the artwork's own colour; the user can make it stronger.
    light_shift, strong_shift = (abs(image.getpixel(inside)[2] - 128) for image in (light, strong))
    assert 0 < light_shift < 0.4 * (180 - 128) < strong_shift
    with pytest.raises(ValueError, match="Received: opacity=1.5"):
        draw_tile_probabilities(_grey(200, 100), boxes, CLASSES, opacity=1.5)


def test_every_tile_has_a_numbered_row_with_its_probabilities():
    boxes = [(0, 0, 100, [0.9, 0.1]), (100, 0, 100, [0.2, 0.8])]
    assert tile_table(boxes, CLASSES) == [
        {"tile": 1, "x": 0, "y": 0, "side": 100, "p(han)": 0.9, "p(kom)": 0.1},
        {"tile": 2, "x": 100, "y": 0, "side": 100, "p(han)": 0.2, "p(kom)": 0.8}]
    drawn = draw_tile_probabilities(_grey(200, 100), boxes, CLASSES)
    # Each tile's number sits in a small white box in its corner; the rest of the tile carries no text.
    assert drawn.getpixel((4, 10)) == (255, 255, 255) and drawn.getpixel((104, 10)) == (255, 255, 255)


def test_large_artworks_are_scaled_with_their_tiles():
    boxes = [(1000, 0, 1000, [0.1, 0.9])]
    drawn = draw_tile_probabilities(_grey(2000, 1000), boxes, CLASSES, max_side=500)
    assert drawn.width == 500
    assert _dominant(drawn.getpixel((400, 200)), class_colour(1))
    assert drawn.getpixel((100, 200)) == (128, 128, 128)


def test_bad_boxes_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="one probability per class"):
        draw_tile_probabilities(_grey(100, 100), [(0, 0, 50, [1.0])], CLASSES)
    with pytest.raises(ValueError, match="outside the 100×100 image"):
        draw_tile_probabilities(_grey(100, 100), [(80, 0, 50, [0.5, 0.5])], CLASSES)
    with pytest.raises(ValueError, match="max_side"):
        draw_tile_probabilities(_grey(100, 100), [], CLASSES, max_side=10)


def test_thumbnail_is_a_small_jpeg_data_url(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (400, 200), (10, 200, 30)).save(path)
    url = thumbnail_data_url(path, side=64)
    assert url.startswith("data:image/jpeg;base64,")
    thumbnail = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert thumbnail.size == (64, 32)


def test_thumbnail_of_a_broken_file_names_it(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not an image")
    with pytest.raises(ArtworkError, match="broken.jpg"):
        thumbnail_data_url(path)


def test_any_number_of_classes_get_distinct_colours_and_a_legend_that_fits():
    colours = [class_colour(index) for index in range(40)]
    assert len(set(colours)) == 40
    with pytest.raises(ValueError, match="Received: index=-1"):
        class_colour(-1)
    classes = [f"class{index}" for index in range(9)]
    boxes = [(0, 0, 50, [0.02] * 8 + [0.84]), (50, 0, 50, [0.84] + [0.02] * 8)]
    drawn = draw_tile_probabilities(_grey(200, 100), boxes, classes)
    two_classes = draw_tile_probabilities(_grey(200, 100), boxes[:0], CLASSES)
    # Nine names do not fit one row of a 200-px legend: it wraps below instead of running off the side.
    assert drawn.width == 200 and drawn.height > two_classes.height
    assert _dominant(drawn.getpixel((25, 40)), class_colour(8))
    assert _dominant(drawn.getpixel((75, 40)), class_colour(0))
    legend = drawn.crop((0, 100, 200, drawn.height))
    assert class_colour(8) in {pixel for pixel in legend.getdata()}


def test_tiles_of_a_model_that_reads_big_pictures_reduced_lie_over_the_picture_at_the_size_classified(tmp_path):
    import numpy as np
    from PIL import ImageDraw

    from artcnn.images import read_at_size
    from artcnn.prediction import classify
    from tests.builders import RED_SQUARE_METADATA, red_square_model

    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(90, 160, (384, 512, 1), dtype=np.uint8).repeat(3, axis=2))
    ImageDraw.Draw(picture).rectangle((400, 40, 480, 120), fill=(230, 20, 20))
    picture.save(tmp_path / "big.jpg", quality=95)
    metadata = {**RED_SQUARE_METADATA, "tiling": {"tile_size": 32, "long_side": 64}}
    result = next(iter(classify((red_square_model(), metadata), [tmp_path / "big.jpg"])))
    shown = read_at_size(tmp_path / "big.jpg", (result.used_width, result.used_height))

    assert shown.size == (result.used_width, result.used_height) != (512, 384)
    x, y, size, _ = max(result.tile_boxes, key=lambda box: box[3][1])
    red = np.asarray(shown, dtype=float)[y:y + size, x:x + size]
    assert (red[..., 0] - red[..., 1] > 100).mean() > 0.05
    draw_tile_probabilities(shown, result.tile_boxes, ["han", "kom"])


def test_read_at_size_refuses_an_empty_size(tmp_path):
    from artcnn.images import read_at_size

    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"size=\(0, 30\)"):
        read_at_size(tmp_path / "a.png", (0, 30))
