"""The synthetic pictures: every technique of every class draws, reproducibly, and the classes differ in
how marks are made, not in colour."""

import numpy as np
import pytest
from PIL import Image, ImageFilter

from artcnn.synthetic import (
    CLASS_DESCRIPTIONS,
    CLASS_TECHNIQUES,
    DRAWN_TECHNIQUES,
    KOM_TECHNIQUES,
    PRIOR_TECHNIQUES,
    generate,
    generate_han,
    generate_kom,
)

EVERY_TECHNIQUE = [(name, technique) for name, techniques in CLASS_TECHNIQUES.items() for technique in techniques]


@pytest.mark.parametrize("class_name, technique", EVERY_TECHNIQUE)
def test_every_technique_of_every_class_draws_an_rgb_image(class_name, technique):
    image = generate(class_name, np.random.default_rng(0), 120, 80, technique)
    assert image.mode == "RGB" and image.size == (120, 80)
    assert np.asarray(image).std() > 5


def test_generate_kom_and_han_are_their_classes():
    for name, shortcut in (("kom", generate_kom), ("han", generate_han)):
        for technique in CLASS_TECHNIQUES[name]:
            direct = generate(name, np.random.default_rng(1), 64, 48, technique)
            assert np.array_equal(np.asarray(shortcut(np.random.default_rng(1), 64, 48, technique)), np.asarray(direct))


def test_every_prior_technique_draws_reproducibly_at_any_size():
    assert set(KOM_TECHNIQUES) < set(PRIOR_TECHNIQUES)
    for name, technique in PRIOR_TECHNIQUES.items():
        for width, height in ((16, 16), (90, 40)):
            image = technique(np.random.default_rng(5), width, height)
            assert (image.size, image.mode) == ((width, height), "RGB"), name
        again = np.asarray(technique(np.random.default_rng(5), 90, 40))
        assert np.array_equal(np.asarray(image), again), name


def test_every_drawing_technique_draws_dark_lines_on_white_reproducibly_at_any_size():
    for name, technique in DRAWN_TECHNIQUES.items():
        for width, height in ((16, 16), (300, 200)):
            image = technique(np.random.default_rng(7), width, height)
            assert (image.size, image.mode) == ((width, height), "RGB"), name
        grey = np.asarray(image.convert("L"))
        # Line art: most of the sheet is paper, and there are marks on it.
        assert (grey > 200).mean() > 0.6 and (grey < 150).any(), name
        assert np.array_equal(np.asarray(image), np.asarray(technique(np.random.default_rng(7), 300, 200))), name


def _exact_neighbours(image: Image.Image) -> float:
    """Share of horizontally adjacent pixel pairs with identical colour: flat fills score high."""
    pixels = np.asarray(image).astype(int)
    return float((pixels[:, 1:] == pixels[:, :-1]).all(axis=2).mean())


def _grain_alike_across_channels(image: Image.Image) -> float:
    """Mean correlation between colour channels of the finest detail (image minus its blur): paper grain
    darkens all channels together, a camera sensor's noise is drawn per channel."""
    pixels = np.asarray(image).astype(float)
    detail = (pixels - np.asarray(image.filter(ImageFilter.GaussianBlur(1))).astype(float)).reshape(-1, 3)
    correlation = np.corrcoef(detail.T)
    return float((correlation[0, 1] + correlation[0, 2] + correlation[1, 2]) / 3)


def test_classes_differ_in_how_marks_are_made_not_in_mean_colour():
    rng = np.random.default_rng(3)
    kom = [generate_kom(rng, 96, 96) for _ in range(16)]
    han = [generate_han(rng, 96, 96) for _ in range(16)]
    photo = [generate("photo", rng, 96, 96) for _ in range(16)]
    # Code draws exact flat colour; hand work sits on grainy paper with uneven pigment; a photo is all noise.
    assert min(_exact_neighbours(image) for image in kom) > 0.5
    assert max(_exact_neighbours(image) for image in han) < 0.3
    assert max(_exact_neighbours(image) for image in photo) < 0.05
    assert min(_grain_alike_across_channels(image) for image in han) > 0.6
    assert max(_grain_alike_across_channels(image) for image in photo) < 0.4
    # Palettes come from one distribution: mean brightness ranges overlap.
    means = {name: [np.asarray(image).mean() for image in images]
             for name, images in (("kom", kom), ("han", han), ("photo", photo))}
    for one, other in (("kom", "han"), ("kom", "photo"), ("han", "photo")):
        assert min(means[one]) < max(means[other]) and min(means[other]) < max(means[one])


def test_every_class_is_described():
    assert set(CLASS_DESCRIPTIONS) == set(CLASS_TECHNIQUES)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="kom technique must be one of .* Received: technique='oil'"):
        generate_kom(np.random.default_rng(0), 64, 64, "oil")
    with pytest.raises(ValueError, match="width and height must be at least 16. Received: width=8"):
        generate_han(np.random.default_rng(0), 8, 64)
    with pytest.raises(ValueError, match="class_name must be one of han, kom, photo. Received: class_name='oil'"):
        generate("oil", np.random.default_rng(0), 64, 64)
