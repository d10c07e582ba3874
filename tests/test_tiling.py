import dataclasses

import numpy as np
import pytest
from PIL import Image

from artcnn.config import TilingConfig
from artcnn.tiling import cut_tiles


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _details(**fields) -> TilingConfig:
    # Tiles of details only: the whole view has its own tests below.
    return TilingConfig(whole_view=False, **fields)


def _coverage(tiles, width: int, height: int) -> np.ndarray:
    covered = np.zeros((height, width), bool)
    for tile in tiles:
        covered[tile.y : tile.y + tile.size, tile.x : tile.x + tile.size] = True
    return covered


def test_grid_covers_the_whole_artwork_with_edge_aligned_last_tiles():
    image = _noise(100, 70)
    cut = cut_tiles(image, _details(tile_size=32, grid=True, blank_threshold=0.0))
    assert _coverage(cut.tiles, 100, 70).all()
    assert sorted({tile.x for tile in cut.tiles}) == [0, 32, 64, 68]
    assert sorted({tile.y for tile in cut.tiles}) == [0, 32, 38]
    pixels = np.asarray(image)
    for tile in cut.tiles:
        assert tile.size == 32
        np.testing.assert_array_equal(tile.pixels, pixels[tile.y : tile.y + 32, tile.x : tile.x + 32])


def test_tiles_of_a_resized_artwork_are_mapped_back_to_its_coordinates():
    image = _noise(200, 100)
    cut = cut_tiles(image, _details(tile_size=32, long_side=100, grid=True, blank_threshold=0.0))
    assert all(tile.pixels.shape == (32, 32, 3) and tile.size == 64 for tile in cut.tiles)
    assert all(tile.x + tile.size <= 200 and tile.y + tile.size <= 100 for tile in cut.tiles)
    assert _coverage(cut.tiles, 200, 100).all()


def test_max_tiles_keeps_an_evenly_spread_subset_of_the_grid():
    config = _details(tile_size=8, grid=True, blank_threshold=0.0)
    image = _noise(160, 80)
    full = cut_tiles(image, config)
    subset = cut_tiles(image, config, max_tiles=12)
    assert len(full.tiles) == 200 and 1 < len(subset.tiles) <= 12
    xs, ys = {tile.x for tile in subset.tiles}, {tile.y for tile in subset.tiles}
    assert min(xs) == 0 and max(xs) == 152 and min(ys) == 0 and max(ys) == 72
    assert len(xs) > 1 and len(ys) > 1
    with pytest.raises(ValueError, match="max_tiles"):
        cut_tiles(image, config, max_tiles=0)


def test_random_positions_are_seeded_and_reproducible():
    image = _noise(300, 200)
    config = _details(tile_size=32, tiles_per_artwork=6)

    def positions(seed):
        return [(tile.x, tile.y) for tile in cut_tiles(image, config, np.random.default_rng(seed)).tiles]

    first = positions(7)
    assert first == positions(7)
    assert first != positions(8)
    assert len(first) == 6 and len(set(first)) == 6
    assert all(0 <= x <= 268 and 0 <= y <= 168 for x, y in first)
    with pytest.raises(ValueError, match="rng"):
        cut_tiles(image, config)


def test_blank_tiles_are_skipped_and_counted():
    pixels = np.asarray(_noise(128, 64)).copy()
    pixels[:, :64] = 250  # the left half is empty paper
    image = Image.fromarray(pixels)
    grid = cut_tiles(image, _details(tile_size=32, grid=True))
    assert grid.blank_skipped == 4 and len(grid.tiles) == 4
    assert all(tile.x >= 64 for tile in grid.tiles)
    random = cut_tiles(image, _details(tile_size=32, tiles_per_artwork=5), np.random.default_rng(0))
    assert len(random.tiles) == 5 and random.blank_skipped > 0
    assert all(tile.pixels.std() > 10 for tile in random.tiles)


def test_an_all_blank_artwork_gives_no_tiles_unless_blank_ones_are_kept():
    blank = Image.new("RGB", (96, 64), (240, 240, 235))
    config = _details(tile_size=32, tiles_per_artwork=3)
    assert cut_tiles(blank, config, np.random.default_rng(0)).tiles == []
    kept = cut_tiles(blank, config, np.random.default_rng(0), keep_blank=True)
    assert 1 <= len(kept.tiles) <= 3
    assert len(cut_tiles(blank, config, grid=True, keep_blank=True).tiles) == 6


def test_small_artwork_is_upscaled_and_recorded():
    cut = cut_tiles(_noise(10, 40), _details(tile_size=32, grid=True, blank_threshold=0.0))
    assert cut.upscaled
    assert all(tile.pixels.shape == (32, 32, 3) for tile in cut.tiles)
    assert all(tile.size == 10 and tile.x == 0 and tile.y + 10 <= 40 for tile in cut.tiles)
    assert not cut_tiles(_noise(40, 40), _details(tile_size=32, grid=True)).upscaled


def _quarters(width: int, height: int) -> Image.Image:
    # Four flat colours, one per quarter: a detail tile shows one or two, the whole view all four.
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2, : width // 2] = (255, 0, 0)
    pixels[: height // 2, width // 2 :] = (0, 255, 0)
    pixels[height // 2 :, : width // 2] = (0, 0, 255)
    pixels[height // 2 :, width // 2 :] = (255, 255, 0)
    return Image.fromarray(pixels)


def test_whole_view_adds_a_last_tile_of_the_whole_artwork_reduced():
    image = _quarters(400, 300)
    config = TilingConfig(tile_size=32, tiles_per_artwork=3, blank_threshold=0.0, whole_view=True)
    cut = cut_tiles(image, config, np.random.default_rng(0))
    details = cut_tiles(image, dataclasses.replace(config, whole_view=False), np.random.default_rng(0))
    assert [tile.whole for tile in cut.tiles] == [False, False, False, True]
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(cut.tiles, details.tiles))
    whole = cut.tiles[-1]
    # The centre square of the artwork, in its coordinates, reduced to the tile's size.
    assert (whole.x, whole.y, whole.size) == (50, 0, 300) and whole.pixels.shape == (32, 32, 3)
    corners = [tuple(whole.pixels[y, x]) for y, x in ((1, 1), (1, 30), (30, 1), (30, 30))]
    assert corners == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def test_whole_view_comes_beyond_max_tiles_and_once_when_the_artwork_is_one_tile():
    config = TilingConfig(tile_size=32, blank_threshold=0.0, whole_view=True)
    cut = cut_tiles(_quarters(200, 100), config, grid=True, max_tiles=2)
    assert [tile.whole for tile in cut.tiles] == [False, False, True]
    single = cut_tiles(_quarters(32, 32), config, grid=True)
    assert len(single.tiles) == 1 and not single.tiles[0].whole


def test_a_blank_whole_view_is_left_out():
    # Fine noise averages to flat grey once the whole artwork is reduced to one tile.
    cut = cut_tiles(_noise(640, 640), TilingConfig(tile_size=32, tiles_per_artwork=2, whole_view=True),
                    np.random.default_rng(0))
    assert len(cut.tiles) == 2 and not any(tile.whole for tile in cut.tiles)
