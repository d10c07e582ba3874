"""Training throughput: the study's Figure-5 input pipeline against artcnn's, same model, tiles and epochs.

    python bench/train_speed.py                      # on synthetic demo tiles (made in bench/out/)
    python bench/train_speed.py --data DATASET       # on a dataset folder written by `artcnn tile`

The study fed its one-block VGG with Keras's ImageDataGenerator: every epoch re-reads each PNG
with Pillow, resizes it to 200×200 (nearest neighbour), rotates it with scipy, one image at a time
in Python. artcnn's `seed` recipe trains the very same model (models.create_model, same initial
weights) from a tf.data pipeline that decodes each tile once, caches it, and resizes and rotates
in TensorFlow threads. Both fit with per-epoch validation on the test split, as the study did.
Two more variants put the figures in context: the same artcnn pipeline training in mixed bfloat16
(TrainConfig.mixed_precision; numbers change slightly, so its validation accuracy is printed), and
the model alone on batches already in memory, the ceiling no input pipeline can pass. Variants run
in turn, several times; medians of images/s (wall clock) and of images per CPU-second (which other
jobs on a shared machine change far less) are compared, and training's FLOP/s is put against a
float32 matmul measured in the same run. The last line printed is
`train_speedup: <artcnn images/s ÷ study images/s>`.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

STUDY_SIZE = (200, 200)
STUDY_ROTATION = 25
STUDY_BATCH, STUDY_TEST_BATCH = 64, 32
# Backward passes cost about twice the forward pass (gradients for inputs and for weights).
TRAINING_FLOPS_PER_FORWARD = 3.0


@dataclass(frozen=True)
class Fit:
    # Wall-clock seconds of model.fit, validation included.
    seconds: float
    # CPU seconds (all threads) of the same.
    cpu_seconds: float
    # Seconds of each epoch.
    epoch_seconds: list[float]
    # Training tiles seen (tiles × epochs).
    images: int
    # Validation accuracy after the last epoch (None for the model-alone ceiling, which has no validation).
    val_accuracy: float | None

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds

    @property
    def images_per_cpu_second(self) -> float:
        return self.images / self.cpu_seconds


def _epoch_timer() -> tuple[Any, list[float]]:
    import keras

    seconds: list[float] = []
    started = [0.0]
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs=None: started.__setitem__(0, time.perf_counter()),
        on_epoch_end=lambda epoch, logs=None: seconds.append(time.perf_counter() - started[0]))
    return timer, seconds


def _fit(model: Any, train: Any, test: Any, epochs: int, images_per_epoch: int) -> Fit:
    timer, epoch_seconds = _epoch_timer()
    history, wall, cpu = common.measured(
        lambda: model.fit(train, validation_data=test, epochs=epochs, callbacks=[timer], verbose=0))
    validation = history.history.get("val_accuracy")
    return Fit(wall, cpu, epoch_seconds, images_per_epoch * epochs, float(validation[-1]) if validation else None)


def seed_model(seed: int = 0, bfloat16: bool = False) -> Any:
    """The study's one-block VGG compiled as the study did (artcnn's `seed` recipe); in mixed bfloat16 on request."""
    from artcnn import models
    from artcnn.config import TrainConfig

    model = models.create_model(models.resolve_recipe(TrainConfig(recipe="seed")), 2, seed=seed)
    return models.in_bfloat16(model) if bfloat16 else model


def study_fit(dataset: Path, epochs: int, seed: int = 0) -> Fit:
    """The study's Figure 5: ImageDataGenerator(rescale, rotation_range=25).flow_from_directory, then fit."""
    import tensorflow as tf

    ImageDataGenerator = tf.keras.preprocessing.image.ImageDataGenerator
    train_datagen = ImageDataGenerator(rescale=1.0 / 255.0, rotation_range=STUDY_ROTATION)
    test_datagen = ImageDataGenerator(rescale=1.0 / 255.0)
    train_it = train_datagen.flow_from_directory(str(dataset / "train"), class_mode="binary",
                                                 batch_size=STUDY_BATCH, target_size=STUDY_SIZE, seed=seed)
    test_it = test_datagen.flow_from_directory(str(dataset / "test"), class_mode="binary",
                                               batch_size=STUDY_TEST_BATCH, target_size=STUDY_SIZE, shuffle=False)
    return _fit(seed_model(seed), train_it, test_it, epochs, train_it.samples)


def artcnn_fit(dataset: Path, epochs: int, seed: int = 0, bfloat16: bool = False) -> Fit:
    """artcnn's `seed` recipe as training.train feeds it: data.make_pipeline for train and test, then fit."""
    from artcnn import data, models
    from artcnn.config import TrainConfig

    recipe = models.resolve_recipe(TrainConfig(recipe="seed"))
    info = data.read_dataset(dataset)
    pipelines, sizes = [], []
    for split, batch_size in (("train", recipe.batch_size), ("test", recipe.test_batch_size)):
        files, labels = data.labels_for(info, split)
        sizes.append(len(files))
        pipelines.append(data.make_pipeline(files, labels, len(info.classes), recipe.input_size, batch_size,
                                            training=split == "train", rotation_deg=recipe.rotation_deg, seed=seed,
                                            extra_augment=recipe.extra_augment))
    return _fit(seed_model(seed, bfloat16), pipelines[0], pipelines[1], epochs, sizes[0])


def model_alone_fit(dataset: Path, epochs: int, seed: int = 0) -> Fit:
    """The ceiling: the same model fed one batch of random pixels already in memory, as many training images
    as the pipelines feed, no validation. No input pipeline can make training faster than this."""
    import tensorflow as tf

    from artcnn import data

    tiles = len(data.labels_for(data.read_dataset(dataset), "train")[0])
    images = tf.random.stateless_uniform((STUDY_BATCH, *STUDY_SIZE, 3), seed=(seed, 0))
    labels = tf.cast(tf.range(STUDY_BATCH) % 2, tf.float32)
    steps = -(-tiles // STUDY_BATCH)
    batches = tf.data.Dataset.from_tensors((images, labels)).repeat(steps)
    return _fit(seed_model(seed), batches, None, epochs, steps * STUDY_BATCH)


# What each variant is, for the printed table; all train the same model on the same tiles.
VARIANTS: dict[str, tuple[str, Callable[..., Fit]]] = {
    "study": ("study: ImageDataGenerator.flow_from_directory", study_fit),
    "artcnn": ("artcnn: data.make_pipeline, float32", artcnn_fit),
    "artcnn_bf16": ("artcnn: data.make_pipeline, mixed bfloat16", functools.partial(artcnn_fit, bfloat16=True)),
    "model_alone": ("ceiling: model alone, batches in memory", model_alone_fit),
}


def training_flops_per_image(model: Any) -> float:
    """Multiply-adds ×2 of the model's convolutions and dense layers for one image, forward and backward."""
    import keras

    forward = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, channels_out = layer.output.shape[1:]
            kernel_h, kernel_w = layer.kernel_size
            channels_in = layer.input.shape[-1]
            forward += 2.0 * height * width * channels_out * kernel_h * kernel_w * channels_in
        elif isinstance(layer, keras.layers.Dense):
            forward += 2.0 * layer.input.shape[-1] * layer.units
    return TRAINING_FLOPS_PER_FORWARD * forward


def benchmark(dataset: Path, epochs: int, repeats: int, variants: Sequence[str] = tuple(VARIANTS),
              log: Callable[[str], None] = print) -> dict:
    """Run the variants in turn `repeats` times; medians of images/s (wall) and images per CPU-second."""
    if epochs < 1 or repeats < 1:
        raise ValueError(f"epochs and repeats must be at least 1. Received: epochs={epochs}, repeats={repeats}")
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown or "study" not in variants or "artcnn" not in variants:
        raise ValueError(f"variants must include study and artcnn, from {', '.join(VARIANTS)}. "
                         f"Received: variants={list(variants)}")
    fits: dict[str, list[Fit]] = {name: [] for name in variants}
    for repeat in range(repeats):
        # Rotating the order spreads any drift in the machine's load over every variant.
        for name in [*variants[repeat % len(variants):], *variants[:repeat % len(variants)]]:
            result = VARIANTS[name][1](dataset, epochs)
            fits[name].append(result)
            accuracy = f", val_accuracy {result.val_accuracy:.3f}" if result.val_accuracy is not None else ""
            log(f"repeat {repeat + 1} {name:11s}: {result.seconds:6.1f} s = {result.images_per_second:6.1f} images/s, "
                f"{result.cpu_seconds:6.1f} CPU s = {result.images_per_cpu_second:5.1f} images per CPU-second "
                f"(epochs {', '.join(f'{s:.1f}' for s in result.epoch_seconds)} s){accuracy}")
    summary = {
        name: {"images_per_second": common.median([fit.images_per_second for fit in runs]),
               "images_per_cpu_second": common.median([fit.images_per_cpu_second for fit in runs]),
               "val_accuracy": (common.median([fit.val_accuracy for fit in runs])
                                if runs[0].val_accuracy is not None else None)}
        for name, runs in fits.items()}
    return {"fits": fits, "summary": summary,
            "speedup": summary["artcnn"]["images_per_second"] / summary["study"]["images_per_second"],
            "cpu_speedup": summary["artcnn"]["images_per_cpu_second"] / summary["study"]["images_per_cpu_second"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="dataset folder (train/, test/, manifest.csv); default: demo tiles")
    parser.add_argument("--per-class", type=int, default=24, help="demo artworks per class when --data is not given")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (every variant)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of each variant, in rotating order")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)

    dataset = args.data or common.demo_dataset(common.OUT / "demo", args.per_class)
    print(f"machine: {common.machine()}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"data: {dataset}; {args.epochs} epochs per fit, {args.repeats} repetitions each, rotating order")
    result = benchmark(dataset, args.epochs, args.repeats, args.variants)
    peaks = {dtype: common.matmul_peak(dtype) for dtype in ("float32", "bfloat16")}
    flops = training_flops_per_image(seed_model())
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    print(f"matmul peak (2048², best of 10): float32 {peaks['float32'][0] / 1e9:.0f} GFLOP/s "
          f"({peaks['float32'][1] / 1e9:.0f} per CPU-second), bfloat16 {peaks['bfloat16'][0] / 1e9:.0f} GFLOP/s "
          f"({peaks['bfloat16'][1] / 1e9:.0f} per CPU-second)")
    print(f"seed model: {flops / 1e9:.3f} GFLOP per training image (3 × forward)")
    for name, figures in result["summary"].items():
        rate, cpu_rate = figures["images_per_second"], figures["images_per_cpu_second"]
        accuracy = f", val_accuracy {figures['val_accuracy']:.3f}" if figures["val_accuracy"] is not None else ""
        print(f"{VARIANTS[name][0]:48s} median {rate:6.1f} images/s, {cpu_rate:5.1f} per CPU-second; "
              f"{100 * rate * flops / peaks['float32'][0]:4.1f}% of the float32 matmul peak "
              f"({100 * cpu_rate * flops / peaks['float32'][1]:4.1f}% per CPU-second){accuracy}")
    print(f"artcnn ÷ study: {result['speedup']:.2f}× images/s, {result['cpu_speedup']:.2f}× images per CPU-second")
    print(f"train_speedup: {result['speedup']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
