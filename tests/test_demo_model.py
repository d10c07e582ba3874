"""build_demo_model (the `build-demo-model` command) at a tiny scale, and the demo dataset the Home page builds."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from artcnn.config import TilingConfig
from artcnn.demo import DEMO_TILING, build_demo_dataset
from artcnn.demo_model import build_demo_model
from artcnn.storage import read_metadata

# Two tiny builds in one fresh process: build_demo_model turns on TensorFlow's op determinism for
# the whole process, which must not leak into the other tests.
TWO_BUILDS = """
import dataclasses, hashlib, json, sys
from pathlib import Path
from artcnn.config import TilingConfig
from artcnn.demo_model import DEMO_TRAINING, build_demo_model
from artcnn.progress import Progress
from artcnn.storage import load_model

tiling = TilingConfig(tile_size=64, tiles_per_artwork=3)
# With default's statistics head (the shipped demo goes without), so the card's verdict line is built too.
training = dataclasses.replace(DEMO_TRAINING, epochs=1, batch_size=8, test_batch_size=8, statistics_weight=None)
digests, metrics, events = [], None, []
for name in ("first.keras", "second.keras"):
    out = Path(sys.argv[1]) / name
    metrics = build_demo_model(out, per_class=3, tiling=tiling, training=training, progress=events.append)
    weights = load_model(out)[0].get_weights()
    digests.append(hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest())
stages = sorted({event.what for event in events})
progress_only = all(isinstance(event, Progress) for event in events)
print(json.dumps({"digests": digests, "metrics": metrics, "stages": stages, "progress_only": progress_only}))
"""


def test_demo_model_is_reproducible_small_and_carded(tmp_path):
    done = subprocess.run([sys.executable, "-c", TWO_BUILDS, str(tmp_path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    first, second = report["digests"]
    assert first == second, "the same command must give the same weights"
    # Every stage reports through the one progress event type.
    assert report["progress_only"] and {"demo", "tiling", "training", "finalizing"} <= set(report["stages"])

    model = tmp_path / "first.keras"
    assert model.stat().st_size < 2_000_000
    metadata = read_metadata(model)
    assert metadata["synthetic"] is True and metadata["classes"] == ["han", "kom"]
    assert metadata["tiling"]["tile_size"] == 64 and "not real art" in metadata["description"]

    card = (tmp_path / "first.md").read_text(encoding="utf-8")
    artworks = report["metrics"]["artwork_accuracy"]
    assert "SYNTHETIC" in card and "never seen real art" in card
    # A rebuilt card does not carry an earlier build's real-art figures: it says they are still to be measured.
    assert card.startswith("# first.keras: the synthetic demo model\n\n**On real art: not measured for this build.**")
    assert f"python bench/model_on_real_art.py {model.as_posix()} --data ARTWORKS" in card
    assert f"{artworks['value']:.1%} | {artworks['low']:.1%}–{artworks['high']:.1%}" in card
    assert "make_demo_collection(per_class=3, seed=0)" in card
    assert "Its training adds 0.25 synthetic hand drawing per `han` artwork" in card
    assert "statistics" in metadata and "Its verdict on an artwork: 90% a logistic head" in card


def test_demo_model_needs_a_model_file_name_in_an_existing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"\.keras or \.h5"):
        build_demo_model(tmp_path / "demo.zip")
    with pytest.raises(ValueError, match="does not exist"):
        build_demo_model(tmp_path / "missing" / "demo.keras")
    with pytest.raises(ValueError, match="test_fraction"):
        build_demo_model(tmp_path / "demo.keras", tiling=TilingConfig(test_fraction=0.0))


def test_demo_dataset_reuses_its_collection(tmp_path):
    collection, dataset = tmp_path / "uploads" / "demo", tmp_path / "datasets" / "demo"
    report = build_demo_dataset(collection, dataset, per_class=2)
    assert report.classes == ["han", "kom"] and json.loads((dataset / "dataset.json").read_text())["synthetic"]
    assert json.loads((dataset / "dataset.json").read_text())["tiling"]["tile_size"] == DEMO_TILING.tile_size
    files = sorted(collection.rglob("*"))
    again = build_demo_dataset(collection, dataset, per_class=2, overwrite=True)
    assert sorted(collection.rglob("*")) == files and again.counts == report.counts
