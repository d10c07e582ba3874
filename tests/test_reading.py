import random
import threading
import time

import pytest
from PIL import Image

from artcnn.config import PredictConfig, TilingConfig
from artcnn.reading import read_ahead, read_artworks


def test_results_come_in_input_order_whatever_order_they_finish_in():
    delays = random.Random(0).sample(range(30), 30)

    def slow(index, item):
        time.sleep(delays[index] / 2000)
        return index, item * 2

    assert list(read_ahead(range(30), slow, workers=4, ahead=6)) == [(i, i * 2) for i in range(30)]


def test_files_read_ahead_are_bounded():
    taken, running, most = [], [0], [0]
    lock = threading.Lock()

    def items():
        for index in range(40):
            taken.append(index)
            yield index

    def read(index, item):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.002)
        with lock:
            running[0] -= 1
        return item

    stream = read_ahead(items(), read, workers=3, ahead=5)
    assert next(stream) == 0
    time.sleep(0.05)
    # The one handed out and at most 5 beyond it have been taken from the source; never more than 3 at once.
    assert len(taken) <= 6
    assert list(stream) == list(range(1, 40)) and most[0] <= 3


def test_an_error_is_raised_in_its_place():
    def read(index, item):
        if item == 3:
            raise RuntimeError("broken reader")
        return item

    stream = read_ahead(range(10), read, workers=2, ahead=4)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="broken reader"):
        next(stream)


def test_an_error_of_the_source_is_raised_after_what_it_gave():
    def items():
        yield from range(3)
        raise OSError("listing failed")

    stream = read_ahead(items(), lambda index, item: item, workers=2, ahead=4)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(OSError, match="listing failed"):
        next(stream)


def test_stop_submits_no_more():
    stop = threading.Event()
    stream = read_ahead(range(1000), lambda index, item: item, workers=2, ahead=3, stop=stop)
    assert next(stream) == 0
    stop.set()
    assert len(list(stream)) <= 4


@pytest.mark.parametrize(("workers", "ahead"), [(0, 1), (1, 0)])
def test_workers_and_ahead_are_checked(workers, ahead):
    with pytest.raises(ValueError, match=f"Received: workers={workers}, ahead={ahead}"):
        next(read_ahead(range(3), lambda index, item: item, workers=workers, ahead=ahead))


def test_artworks_are_read_tiled_and_hashed_in_order(tmp_path):
    for index in range(12):
        Image.new("RGB", (64 + 32 * (index % 3), 64), (20 * index, 0, 0)).save(tmp_path / f"art_{index:02d}.png")
    (tmp_path / "art_99.png").write_bytes(b"not a picture")
    read = list(read_artworks([tmp_path], TilingConfig(tile_size=32, blank_threshold=0.0),
                              PredictConfig(read_workers=3, read_ahead=4)))
    assert [pending.file for pending, _ in read] == sorted(str(path) for path in tmp_path.iterdir())
    # A 2×2, 3×2 or 4×2 grid, and the whole view.
    assert [len(tiles) for _, tiles in read] == [[5, 7, 9][index % 3] for index in range(12)] + [0]
    assert all(pending.expected == len(tiles) and pending.sha256 for pending, tiles in read[:12])
    assert read[-1][0].error and read[-1][0].complete
