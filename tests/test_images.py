import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from artcnn.config import ImageLimits, TilingConfig
from artcnn.images import (ArtworkError, check_inputs, ensure_min_side, fit_long_side, iter_image_files,
                           load_artwork, read_artwork)
from artcnn.tiling import cut_tiles


def _assert_rgb(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    assert image.mode == "RGB" and image.size == size
    return np.asarray(image)


def test_cmyk_jpeg_loads_as_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (255, 0, 0, 0)).save(path, quality=95)  # pure cyan ink
    pixels = _assert_rgb(load_artwork(path), (16, 16))
    np.testing.assert_allclose(pixels[8, 8], [0, 255, 255], atol=6)


def test_16_bit_greyscale_png_is_scaled_to_8_bits(tmp_path):
    path = tmp_path / "grey16.png"
    values = np.array([[0, 32768, 65535, 255]], dtype=np.uint16)
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = _assert_rgb(load_artwork(path), (4, 1))
    # 255 out of 65535 is nearly black, not white: the bit depth comes from the mode.
    assert pixels[0, :, 0].tolist() == [0, 128, 255, 1]
    assert (pixels[..., 0] == pixels[..., 2]).all()


def test_palette_png_with_transparency_is_composed_over_white(tmp_path):
    path = tmp_path / "palette.png"
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    image.putdata([0, 1])
    image.save(path, transparency=0)
    pixels = _assert_rgb(load_artwork(path), (2, 1))
    assert pixels[0, 0].tolist() == [255, 255, 255]  # transparent red → paper white
    assert pixels[0, 1].tolist() == [0, 255, 0]


def test_rgba_alpha_is_composed_over_white(tmp_path):
    path = tmp_path / "rgba.png"
    image = Image.new("RGBA", (3, 1))
    image.putdata([(255, 0, 0, 0), (0, 0, 255, 255), (0, 0, 0, 128)])
    image.save(path)
    pixels = _assert_rgb(load_artwork(path), (3, 1))
    assert pixels[0, 0].tolist() == [255, 255, 255]
    assert pixels[0, 1].tolist() == [0, 0, 255]
    np.testing.assert_allclose(pixels[0, 2], [127, 127, 127], atol=1)


def test_la_greyscale_with_alpha_is_composed_over_white(tmp_path):
    path = tmp_path / "la.png"
    image = Image.new("LA", (2, 1))
    image.putdata([(0, 0), (0, 255)])
    image.save(path)
    pixels = _assert_rgb(load_artwork(path), (2, 1))
    assert pixels[0].tolist() == [[255, 255, 255], [0, 0, 0]]


def test_one_bit_tiff_loads_as_rgb(tmp_path):
    path = tmp_path / "bilevel.tif"
    image = Image.new("1", (8, 2), 0)
    image.putpixel((3, 1), 1)
    image.save(path)
    pixels = _assert_rgb(load_artwork(path), (8, 2))
    assert pixels[1, 3].tolist() == [255, 255, 255] and pixels[0, 0].tolist() == [0, 0, 0]


def test_exif_rotated_jpeg_comes_out_upright(tmp_path):
    path = tmp_path / "phone.jpg"
    stored = np.full((20, 40, 3), 255, np.uint8)
    stored[:8, :8] = (255, 0, 0)  # mark the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer must rotate 90° clockwise
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    pixels = _assert_rgb(load_artwork(path), (20, 40))
    assert read_artwork(path).original_size == (20, 40) and read_artwork(path).note == ""
    # Turned clockwise, the stored top-left corner is the upright top-right corner.
    np.testing.assert_allclose(pixels[2, -3], [255, 0, 0], atol=30)
    np.testing.assert_allclose(pixels[2, 2], [255, 255, 255], atol=30)


def _jpeg_bytes(size=(64, 64)) -> bytes:
    import io

    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("truncated.jpg", _jpeg_bytes()[:600], "cannot decode"),
        ("notes.jpg", b"these are my notes, not a picture\n" * 5, "not an image"),
        ("empty.png", b"", "empty file"),
    ],
)
def test_unreadable_files_raise_artwork_error_naming_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArtworkError, match=reason) as caught:
        load_artwork(path)
    assert str(path) in str(caught.value) and caught.value.path == str(path)


def test_pdf_named_png_is_refused(tmp_path):
    pdf = tmp_path / "scan.pdf"
    Image.new("RGB", (10, 10), "white").save(pdf)
    path = tmp_path / "scan.png"
    pdf.rename(path)
    assert path.read_bytes().startswith(b"%PDF")
    with pytest.raises(ArtworkError, match="not an image") as caught:
        load_artwork(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_an_artwork_error(tmp_path):
    with pytest.raises(ArtworkError, match="file not found"):
        load_artwork(tmp_path / "nowhere.png")


def _png_claiming(path, width: int, height: int) -> None:
    """A 1×1 PNG whose IHDR is patched to claim width×height (with a valid CRC)."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    # Signature (8) + chunk length (4) + b"IHDR" (4), then width and height, then the CRC after 13 bytes.
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "width, height, limits",
    [
        (20000, 20000, ImageLimits()),
        (3000, 2000, ImageLimits(max_pixels=5_000_000)),
    ],
)
def test_decompression_bomb_header_is_refused_before_decoding(tmp_path, width, height, limits):
    path = tmp_path / "bomb.png"
    _png_claiming(path, width, height)
    assert path.stat().st_size < 100 and Image.open(path).size == (width, height)
    with pytest.raises(ArtworkError, match="decompression bomb") as caught:
        load_artwork(path, limits)
    assert f"{width}×{height}" in caught.value.reason and str(path) in str(caught.value)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_image_above_decode_pixels_is_reduced(tmp_path, suffix):
    path = tmp_path / f"large{suffix}"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path)
    image = load_artwork(path, ImageLimits(max_pixels=1_000_000, decode_pixels=10_000))
    assert image.mode == "RGB"
    assert image.width * image.height <= 10_000
    assert image.width * image.height > 5_000  # reduced to the limit, not far below it
    assert abs(image.width / image.height - 4 / 3) < 0.05
    loaded = read_artwork(path, ImageLimits(max_pixels=1_000_000, decode_pixels=10_000))
    assert loaded.image.size == image.size and loaded.original_size == (400, 300)
    assert loaded.note == (f"reduced from 400×300 to {image.width}×{image.height} pixels to stay within the decode "
                           "limit of 10,000 pixels")
    assert read_artwork(path).note == ""


@pytest.mark.parametrize("size", [(1, 1), (10, 300), (20000, 200)])
def test_tiny_and_panorama_artworks_tile(tmp_path, size):
    path = tmp_path / "odd.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    image = load_artwork(path)
    config = TilingConfig(tile_size=64, blank_threshold=0.0)
    cut = cut_tiles(image, config, grid=True)
    assert cut.tiles and all(tile.pixels.shape == (64, 64, 3) for tile in cut.tiles)
    assert cut.upscaled == (min(size) < 64)
    for tile in cut.tiles:
        assert 0 <= tile.x <= size[0] - tile.size and 0 <= tile.y <= size[1] - tile.size
    random_cut = cut_tiles(image, config, np.random.default_rng(0))
    # The whole view comes beyond the random tiles, and within the artwork like them.
    assert 1 <= len(random_cut.tiles) <= config.tiles_per_artwork + 1
    assert all(0 <= tile.x <= size[0] - tile.size and 0 <= tile.y <= size[1] - tile.size for tile in random_cut.tiles)


def test_resizing_helpers_keep_aspect():
    image = Image.new("RGB", (400, 100))
    assert fit_long_side(image, 200).size == (200, 50)
    assert fit_long_side(image, None) is image
    upscaled, changed = ensure_min_side(Image.new("RGB", (10, 30)), 64)
    assert changed and upscaled.size == (64, 192)
    same, changed = ensure_min_side(image, 64)
    assert same is image and not changed


def test_iter_image_files_leaves_out_hidden_and_non_images(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "__MACOSX").mkdir()
    for name in ("a.png", "b/c.JPG", "notes.txt", "._a.png", "__MACOSX/a.png"):
        (tmp_path / name).write_bytes(b"x")
    found = list(iter_image_files([tmp_path]))
    assert found == [tmp_path / "a.png", tmp_path / "b" / "c.JPG"]


def test_inputs_are_checked_before_any_work(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no images here")
    (tmp_path / "notes" / ".hidden.png").write_bytes(b"x")
    (tmp_path / "art" / "deep").mkdir(parents=True)
    (tmp_path / "art" / "deep" / "a.png").write_bytes(b"x")
    (tmp_path / "one.txt").write_text("a file given by name is tried, whatever it holds")

    check_inputs([tmp_path / "art", tmp_path / "one.txt"])
    with pytest.raises(ValueError, match=r"^my_collection/ does not exist\. Received: input='my_collection/'"):
        check_inputs([tmp_path / "art", "my_collection/"])
    with pytest.raises(ValueError, match=r"notes holds no images \(looked for \.jpg, \.jpeg, \.png, "):
        check_inputs([tmp_path / "notes"])


def test_big_jpeg_is_decoded_at_the_scale_its_tiles_need(tmp_path):
    path = tmp_path / "scan.jpg"
    gradient = np.linspace(0, 255, 1600, dtype=np.uint8)
    Image.fromarray(np.stack([np.tile(gradient, (1200, 1))] * 3, axis=-1)).save(path, quality=95)
    full = read_artwork(path)
    drafted = read_artwork(path, long_side=400, min_side=64)
    assert full.image.size == (1600, 1200)
    # The DCT scales are 1/2, 1/4 and 1/8: 1/4 (400×300) is the smallest still 400 px long.
    assert drafted.image.size == (400, 300) and drafted.original_size == (1600, 1200) and drafted.note == ""
    tiling = TilingConfig(tile_size=64, long_side=400, blank_threshold=0.0)
    from_full = cut_tiles(full.image, tiling, grid=True)
    from_draft = cut_tiles(drafted.image, tiling, grid=True)
    assert [tile.pixels.shape for tile in from_draft.tiles] == [tile.pixels.shape for tile in from_full.tiles]
    difference = np.abs(np.stack([t.pixels for t in from_draft.tiles]).astype(int)
                        - np.stack([t.pixels for t in from_full.tiles]).astype(int))
    assert difference.mean() < 2


@pytest.mark.parametrize(("long_side", "min_side", "size"), [
    (900, 64, (1600, 1200)),   # 1/2 would be 800 px long, shorter than needed: decoded in full
    (200, 400, (800, 600)),    # the short side must stay at least min_side (the tile): 1/2, not 1/8
    (None, 64, (1600, 1200)),  # no long_side: the picture is tiled at its own size
])
def test_draft_never_decodes_smaller_than_the_tiles_need(tmp_path, long_side, min_side, size):
    path = tmp_path / "scan.jpg"
    Image.new("RGB", (1600, 1200), (120, 80, 40)).save(path)
    assert read_artwork(path, long_side=long_side, min_side=min_side).image.size == size


def test_png_is_decoded_in_full_whatever_the_long_side(tmp_path):
    path = tmp_path / "scan.png"
    Image.new("RGB", (800, 600), (120, 80, 40)).save(path)
    assert read_artwork(path, long_side=100).image.size == (800, 600)
