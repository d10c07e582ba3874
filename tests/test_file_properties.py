import numpy as np
import pytest
from PIL import Image

from artcnn.file_properties import artwork_features


def test_artwork_features_read_upright_size_colour_white_and_exif(tmp_path):
    pixels = np.zeros((40, 100, 3), dtype=np.uint8)
    pixels[:, :50] = 255  # left half white
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[274] = 6  # shown rotated by 90°
    path = tmp_path / "rotated.png"
    image.save(path, exif=exif)

    features = artwork_features(path)
    assert (features["width"], features["height"]) == (40, 100)
    assert features["format"] == "png" and features["format_png"] == 1.0
    assert features["exif"] == 1.0
    assert features["white_share"] == pytest.approx(0.5, abs=0.02)
    assert features["mean_red"] == pytest.approx(0.5, abs=0.02)
    assert features["bytes_per_pixel"] == pytest.approx(path.stat().st_size / 4000)
