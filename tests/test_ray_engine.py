"""The Ray engine against the local one: a Ray of 2 CPUs started here, the same CSV row for row. Skipped where
Ray is not installed (it is optional: requirements-ray.txt)."""

import csv

import badfiles
import numpy as np
import pytest

ray = pytest.importorskip("ray")
keras = pytest.importorskip("keras")

from artcnn import cli  # noqa: E402
from artcnn.image_statistics import NAMES, fit_head  # noqa: E402
from artcnn.storage import save_model  # noqa: E402


def test_an_address_that_does_not_answer_is_named_before_any_work(tmp_path, capsys):
    # Runs first, before this module starts its Ray: connecting to the cluster named is what is tested.
    assert not ray.is_initialized()
    badfiles.noise(tmp_path / "art" / "a.png", (32, 32))
    model = save_model(badfiles.brightness_model(keras), tmp_path / "bright.keras", badfiles.METADATA)
    out = tmp_path / "results.csv"
    code = cli.main(["classify", str(model), str(tmp_path / "art"), "--out", str(out), "--engine", "ray",
                     "--ray-address", "ray://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Ray cluster at ray://127.0.0.1:9" in err and "Traceback" not in err, err
    assert not out.exists() and not ray.is_initialized()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_ray_engine_writes_the_csv_of_the_local_engine(local_ray, tmp_path, capsys):
    art = tmp_path / "art"
    for index in range(9):
        badfiles.noise(art / f"a_{index}.png", (32 * (1 + index % 3), 32 * (1 + index % 2)), seed=index)
    badfiles.noise(art / "b_copy.png", (32, 32), seed=0)  # a repeat of a_0
    badfiles.truncated_jpeg(art / "c_truncated.jpg")
    badfiles.png_bomb(art / "d_bomb.png")
    badfiles.not_images(art / "e_not_images")
    # With a statistics head, so both engines' reading measures each artwork's statistics too, and whole views
    # weighing half of the tile mean (trained beside one random tile), so both engines know which tile is whole.
    head = fit_head(np.random.default_rng(0).normal(size=(6, len(NAMES))), [0, 1] * 3, ["han", "kom"], weight=0.5)
    tiling = {**badfiles.METADATA["tiling"], "whole_view": True, "tiles_per_artwork": 1}
    model = save_model(badfiles.brightness_model(keras), tmp_path / "bright.keras",
                       {**badfiles.METADATA, "tiling": tiling, "statistics": head.to_dict()})
    written = {}
    for engine in ("local", "ray"):
        written[engine] = tmp_path / f"{engine}.csv"
        assert cli.main(["classify", str(model), str(art), "--out", str(written[engine]), "--batch-size", "4",
                         "--engine", engine]) == 0, capsys.readouterr().err
    local, on_ray = rows(written["local"]), rows(written["ray"])
    assert len(local) == len(on_ray) == 15
    assert [row["error"] for row in local][-5:] == [row["error"] for row in on_ray][-5:]
    assert all(error for error in [row["error"] for row in on_ray][-5:])
    assert on_ray[9]["duplicate_of"] == str(art / "a_0.png")
    for ours, theirs in zip(local, on_ray):
        for column in ours:
            if column.startswith("p_") or column == "confidence":
                assert (ours[column] == theirs[column] == "") or float(ours[column]) == pytest.approx(
                    float(theirs[column]), abs=1e-5)
            else:
                assert ours[column] == theirs[column], column
