"""Small inputs that several test modules build: dataset folders, demo collections, runs and a populated
workspace. Plain functions, so a test module imports them from here rather than from another test module."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from artcnn.config import TilingConfig, TrainConfig, to_dict

TILE = 32
TINY_TILING = TilingConfig(tile_size=64, tiles_per_artwork=3)
TINY_TRAINING = TrainConfig(epochs=1, batch_size=8, test_batch_size=8, weights=None)
BROKEN = b"\x89PNG\r\n\x1a\n this is not really a PNG"


def write_dataset(root: Path, classes=("kom", "han"), artworks=3, tiles=4, seed=0, synthetic=True,
                  statistics=False) -> Path:
    """A tiny dataset folder in the documented layout: random-noise PNG tiles, the last artwork of
    each class in the test split. `classes` may be unsorted; dataset.json lists them as given. With
    `statistics`, statistics.csv too, each artwork's (file view) measured on its first tile."""
    rng = np.random.default_rng(seed)
    rows = []
    for name in classes:
        for artwork in range(artworks):
            split = "test" if artwork == artworks - 1 else "train"
            for index in range(tiles):
                relative = f"{split}/{name}/{name}{artwork}_abcd1234_x{index}_y0.png"
                (root / relative).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (TILE, TILE, 3), dtype=np.uint8)).save(root / relative)
                rows.append({"tile": relative, "artwork": f"{name}{artwork}.png", "sha256": "0" * 64,
                             "class": name, "split": split, "x": index, "y": 0})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    if statistics:
        from artcnn.dataset import write_statistics
        from artcnn.image_statistics import image_statistics

        first_tiles = pd.DataFrame(rows).drop_duplicates("artwork")
        write_statistics(root, {row.artwork: {"file": image_statistics(Image.open(root / row.tile))}
                                for row in first_tiles.itertuples()})
    description = {"classes": list(classes), "tiling": to_dict(TilingConfig(tile_size=TILE)), "hash": "f" * 64,
                   "synthetic": synthetic}
    (root / "dataset.json").write_text(json.dumps(description))
    return root


def generated_dataset(root: Path, han: int, kom: int) -> Path:
    """root/dataset: two 32-px tiles (details, no whole view) from each of `han` and `kom` 72-px demo artworks
    (root/art), none held out."""
    from artcnn.dataset_build import build_dataset
    from artcnn.synthetic import generate_han, generate_kom

    for name, generate, count in (("han", generate_han, han), ("kom", generate_kom, kom)):
        (root / "art" / name).mkdir(parents=True)
        for number in range(count):
            generate(np.random.default_rng(number), 72, 72).save(root / "art" / name / f"{name}_{number}.png")
    tiling = TilingConfig(tile_size=TILE, tiles_per_artwork=2, test_fraction=0.0, whole_view=False)
    build_dataset(root / "art", root / "dataset", tiling)
    return root / "dataset"


def write_sourced_artworks(folder: Path, per_class: int) -> None:
    """72-px demo artworks in folder/han (source ink) and folder/kom (sources alpha and beta, half each),
    named <source>_<n>.png."""
    from artcnn.synthetic import generate_han, generate_kom

    for name, generate, sources in (("han", generate_han, ["ink"]), ("kom", generate_kom, ["alpha", "beta"])):
        (folder / name).mkdir(parents=True)
        for source_index, source in enumerate(sources):
            for number in range(per_class // len(sources)):
                generate(np.random.default_rng([source_index, number]), 72, 72).save(
                    folder / name / f"{source}_{number}.png")


def artworks(folder: Path, per_class: int = 2) -> dict[str, list[Path]]:
    """Small synthetic artworks (128-192 px) in folder/han, folder/kom."""
    from artcnn.demo import make_demo_collection

    return make_demo_collection(folder, per_class=per_class, size=(128, 192))


def add_demo_dataset(root: Path, name: str = "demo") -> Path:
    """A tiny synthetic dataset in the workspace: 4 + 4 small artworks, 3 tiles of 64 px each."""
    from artcnn.dataset_build import build_dataset

    artworks(root / "uploads" / name, per_class=4)
    build_dataset(root / "uploads" / name, root / "datasets" / name, TINY_TILING)
    return root / "datasets" / name


def add_run(root: Path, name: str, dataset: Path, config: TrainConfig, stop_after_epoch: int | None = None) -> Path:
    """A run trained directly (not through the page); stopped after an epoch when asked."""
    from artcnn import training

    stop = threading.Event()

    def progress(event):
        step = event.payload  # a fitting.TrainingStep, or None for the events around the fit
        if stop_after_epoch is not None and step is not None and step.epoch_end and step.epoch + 1 >= stop_after_epoch:
            stop.set()

    training.train(dataset, root / "runs" / name, config, progress=progress, stop=stop)
    return root / "runs" / name


def populate(root: Path) -> None:
    """Dataset `tiny`, run `first` (one epoch) and a classification of three artworks and a broken file,
    made as the CLI makes them: each stage records itself in the workspace's catalogue."""
    from artcnn.prediction import classify
    from artcnn.dataset_build import build_dataset
    from artcnn.training import train
    from artcnn.workspace import Workspace

    workspace = Workspace.open(root)
    collection = workspace.upload_dir("tiny")
    made = artworks(collection, per_class=4)
    build_dataset(collection, workspace.dataset_dir("tiny"), TINY_TILING)
    result = train(workspace.dataset_dir("tiny"), workspace.run_dir("first"), TINY_TRAINING)
    broken = collection / "broken.png"
    broken.write_bytes(BROKEN)
    model = workspace.describe_model(result.model_path).label
    list(classify(result.model_path, [made["han"][0], *made["kom"][:2], broken], catalogue=workspace.catalogue,
                  model_name=model, source="tests"))


def write_finished_run(folder: Path, p_kom: dict[str, float], metrics: dict | None = None) -> Path:
    """folder/dataset (write_dataset, han and kom) with the artworks of `p_kom` moved to the test split, and
    folder/run: its config.json and the metrics.json evaluation.summarise gives when each test tile's
    probability of kom is its artwork's value in `p_kom` (or `metrics` as given)."""
    from artcnn.evaluation import summarise

    dataset = write_dataset(folder / "dataset", classes=("han", "kom"))
    manifest = pd.read_csv(dataset / "manifest.csv")
    manifest.loc[manifest["artwork"].isin(p_kom), "split"] = "test"
    manifest.to_csv(dataset / "manifest.csv", index=False)
    run = folder / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"dataset": str(dataset)}))
    if metrics is None:
        test = manifest[manifest["split"] == "test"].reset_index(drop=True)
        kom = test["artwork"].map(p_kom).to_numpy()
        metrics = summarise(test, np.column_stack([1 - kom, kom]), ["han", "kom"])
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


# The metadata of red_square_model: 32-px tiles read at 32 px.
RED_SQUARE_METADATA = {"classes": ["han", "kom"], "tiling": {"tile_size": 32}, "input_size": 32}


def red_square_model():
    """kom when a tile holds red: one 3×3 filter answering red minus green and blue, its mean, a sigmoid."""
    import keras

    inputs = keras.Input((32, 32, 3))
    convolution = keras.layers.Conv2D(1, 3, padding="same", name="red_detector")
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(convolution(inputs)))
    output = keras.layers.Dense(1, activation="sigmoid", name="output")
    model = keras.Model(inputs, output(pooled))
    kernel = np.zeros((3, 3, 3, 1), dtype=np.float32)
    kernel[1, 1] = [[1.0], [-1.0], [-1.0]]
    convolution.set_weights([kernel, np.zeros(1, dtype=np.float32)])
    output.set_weights([np.array([[40.0]], dtype=np.float32), np.array([-2.0], dtype=np.float32)])
    return model
