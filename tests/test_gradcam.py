import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageDraw

from artcnn.gradcam import NO_CONVOLUTION, heat_map
from artcnn.models import create_model, get_recipe
from tests.builders import RED_SQUARE_METADATA as METADATA, red_square_model


def artwork_with_square(path, box=(70, 10, 90, 30)):
    rng = np.random.default_rng(0)
    grey = rng.integers(90, 160, (96, 96, 1), dtype=np.uint8).repeat(3, axis=2)
    image = Image.fromarray(grey)
    ImageDraw.Draw(image).rectangle(box, fill=(230, 20, 20))
    image.save(path)
    return box


def test_the_heat_map_is_highest_over_the_shape_that_decides(tmp_path):
    left, top, right, bottom = artwork_with_square(tmp_path / "square.png")
    result = heat_map((red_square_model(), METADATA), tmp_path / "square.png", target="kom")

    assert result.heat.shape == (96, 96) and result.overlay.size == (96, 96)
    inside = result.heat[top:bottom + 1, left:right + 1].mean()
    outside = np.delete(result.heat, np.s_[max(0, top - 4):bottom + 5], axis=0).mean()
    assert inside > 0.5 and inside > 5 * outside
    row, column = np.unravel_index(np.argmax(result.heat), result.heat.shape)
    assert top <= row <= bottom and left <= column <= right
    assert len(result.tile_boxes) == 9 and max(box[3][1] for box in result.tile_boxes) > 0.9


@pytest.mark.parametrize("recipe", ["default", "seed", "vgg2", "vgg3", "vgg16"])
def test_every_recipe_with_a_convolution_gives_a_map(recipe, tmp_path):
    artwork_with_square(tmp_path / "square.png")
    model = create_model(dataclasses.replace(get_recipe(recipe), input_size=32), 3, weights=None)
    metadata = {"classes": ["a", "b", "c"], "tiling": {"tile_size": 48}, "input_size": 32}
    result = heat_map((model, metadata), tmp_path / "square.png", target="b")

    assert result.target == "b" and result.heat.shape == (96, 96)
    assert 0.0 <= result.heat.min() and result.heat.max() <= 1.0
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_a_model_without_convolution_is_told_plainly(tmp_path):
    import keras

    artwork_with_square(tmp_path / "square.png")
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match=NO_CONVOLUTION):
        heat_map((model, METADATA), tmp_path / "square.png")


def test_an_unreadable_artwork_and_an_unknown_class_are_named(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="broken.png"):
        heat_map((red_square_model(), METADATA), tmp_path / "broken.png")
    with pytest.raises(ValueError, match="target='dog'"):
        heat_map((red_square_model(), METADATA), tmp_path / "broken.png", target="dog")


def test_the_map_follows_the_verdict_of_a_model_with_a_statistics_head(tmp_path):
    from artcnn.image_statistics import NAMES, StatisticsHead
    from artcnn.prediction import classify

    artwork_with_square(tmp_path / "square.png", box=(10, 10, 85, 85))
    # Whatever the picture's statistics, this head says han; at 0.7 of the verdict it outweighs the red tiles.
    coefficients = [[0.0, 0.0]] * len(NAMES) + [[5.0, -5.0]]
    head = StatisticsHead(classes=("han", "kom"), weight=0.7, mean=(0.0,) * len(NAMES), scale=(1.0,) * len(NAMES),
                          coefficients=tuple(map(tuple, coefficients)))
    model = red_square_model()
    metadata = {**METADATA, "statistics": head.to_dict()}
    tiles_alone = heat_map((model, METADATA), tmp_path / "square.png")
    blended = heat_map((model, metadata), tmp_path / "square.png")
    classified = next(iter(classify((model, metadata), [tmp_path / "square.png"])))

    assert tiles_alone.target == "kom" and blended.target == "han" == classified.label
    assert blended.probabilities == pytest.approx(classified.probabilities, abs=1e-5)
    np.testing.assert_allclose([box[3] for box in blended.tile_boxes], [box[3] for box in tiles_alone.tile_boxes])


def test_the_map_lies_over_the_shape_when_the_model_reads_big_pictures_reduced(tmp_path):
    # A model that tiles artworks reduced to a 64-px long side: a big JPEG is decoded at a draft scale, and the map
    # must still lie where the tiles were cut.
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(90, 160, (384, 384, 1), dtype=np.uint8).repeat(3, axis=2))
    left, top, right, bottom = 280, 40, 360, 120
    ImageDraw.Draw(picture).rectangle((left, top, right, bottom), fill=(230, 20, 20))
    picture.save(tmp_path / "big.jpg", quality=95)
    metadata = {**METADATA, "tiling": {"tile_size": 32, "long_side": 64}}
    result = heat_map((red_square_model(), metadata), tmp_path / "big.jpg", target="kom")

    height, width = result.heat.shape
    assert result.overlay.size == (width, height) and width == height
    scale = width / 384
    row, column = np.unravel_index(np.argmax(result.heat), result.heat.shape)
    assert top * scale <= row <= bottom * scale and left * scale <= column <= right * scale
