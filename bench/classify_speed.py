"""Classification throughput: the study's Figure-13 loop against artcnn's prediction.classify, same model.

    python bench/classify_speed.py                   # synthetic tiles and artworks, made in bench/out/
    python bench/classify_speed.py --model M.keras   # any saved model instead of a fresh `seed` model

Single tiles. The study classified an image like this: keras.utils.load_img(path, target_size=(200,
200)) (Pillow, nearest-neighbour resize), img_to_array, reshape to one-image batch, /255, then
model.predict on that one image. artcnn's prediction.classify reads the same files, cuts each
256×256 file into its one grid tile, resizes it to the model's input (bilinear, antialiased; on the
reading threads, data.model_inputs), predicts in batches of 64 and averages each artwork's tiles (here: one tile, so the
tile's probability is the artwork's). Both compute one probability per file from the whole file
squeezed to 200×200; they differ only in the resize filter. The two run alternately, several
times; medians are compared, by wall clock and per CPU-second. The model alone, scoring tiles
already in memory, gives the ceiling no file-reading path can pass.

Whole artworks. prediction.classify on large artworks (default 4000×3000 JPEG): decode, sha256,
a grid of 256-px tiles over the whole artwork (at most 256), predict, average: artworks/s.

Stage by stage: the CPU each stage of prediction.classify costs per single-tile file, run one after the
other on one thread (classify runs reading, hashing, tiling and resizing on a pool of threads beside the model).

The last line printed is `classify_speedup: <artcnn files/s ÷ study files/s>`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402


def study_classify(model: Any, files: Sequence[Path]) -> list[float]:
    """The study's Figure 13, once per file: the model's output (probability of class 1, kom) for each."""
    import numpy as np
    from keras.utils import img_to_array, load_img

    # The study's 200×200, or the input of the model given (--model).
    size = tuple(model.input_shape[1:3])
    outputs = []
    for file in files:
        image = load_img(file, target_size=size)
        batch = img_to_array(image).reshape(1, *size, 3).astype("float32") / 255.0
        # verbose=0: the study's progress bar per image would only add printing time to its side.
        outputs.append(float(np.ravel(model.predict(batch, verbose=0))[-1]))
    return outputs


def artcnn_classify(model: Any, metadata: dict, files: Sequence[Path]) -> list[Any]:
    """prediction.classify over the files: one ArtworkResult per file, in order."""
    from artcnn.prediction import classify

    return list(classify((model, metadata), files))


def large_artworks(folder: Path, count: int, width: int, height: int, seed: int = 0) -> list[Path]:
    """`count` synthetic artworks of width×height as JPEG (made once, then reused).

    Drawn at a quarter of the size by the demo generators (hand-work simulation is slow at full size)
    and enlarged: decoding and tiling cost the same whatever the picture.
    """
    import numpy as np
    from PIL import Image

    from artcnn import synthetic

    if count < 1 or width < 16 or height < 16:
        raise ValueError(f"count must be at least 1 and sides at least 16. "
                         f"Received: count={count}, width={width}, height={height}")
    folder = Path(folder) / f"large_{width}x{height}_s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(count):
        kind = ("han", "kom")[index % 2]
        path = folder / f"{kind}_{index:03d}.jpg"
        if not path.is_file():
            rng = np.random.default_rng([seed, index])
            small = synthetic.generate(kind, rng, max(16, width // 4), max(16, height // 4))
            partial = path.with_suffix(".partial.jpg")
            small.resize((width, height), Image.BICUBIC).save(partial, quality=90)
            partial.replace(path)
        files.append(path)
    return files


def tile_files(dataset: Path, count: int) -> list[Path]:
    """The first `count` tile files of a dataset folder (train and test), in manifest order."""
    import pandas as pd

    tiles = pd.read_csv(Path(dataset) / "manifest.csv")["tile"].tolist()
    if len(tiles) < count:
        raise ValueError(f"dataset {dataset} has {len(tiles)} tiles, fewer than the {count} asked for.")
    return [Path(dataset) / tile for tile in tiles[:count]]


def compare(model: Any, metadata: dict, files: Sequence[Path], repeats: int,
            log: Callable[[str], None] = print) -> dict:
    """Alternate the two paths over `files`; medians of files/s (wall) and files per CPU-second, the ratios,
    and how far the two paths' outputs differ."""
    import numpy as np

    if repeats < 1:
        raise ValueError(f"repeats must be at least 1. Received: repeats={repeats}")
    runs = {"study": lambda chosen: study_classify(model, chosen),
            "artcnn": lambda chosen: artcnn_classify(model, metadata, chosen)}
    for run in runs.values():
        run(files[:2])  # both trace their TensorFlow functions before timing starts
    rates: dict[str, list[float]] = {name: [] for name in runs}
    cpu_rates: dict[str, list[float]] = {name: [] for name in runs}
    outputs: dict[str, Any] = {}
    for repeat in range(1, repeats + 1):
        for name in ("study", "artcnn") if repeat % 2 else ("artcnn", "study"):
            outputs[name], wall, cpu = common.measured(lambda: runs[name](files))
            rates[name].append(len(files) / wall)
            cpu_rates[name].append(len(files) / cpu)
            log(f"repeat {repeat} {name:6s}: {len(files)} files in {wall:6.2f} s = {rates[name][-1]:7.1f} files/s "
                f"({cpu:6.2f} CPU s = {cpu_rates[name][-1]:7.1f} files per CPU-second)")
    last_class = metadata["classes"][-1]
    ours = np.array([result.probabilities[last_class] for result in outputs["artcnn"]])
    theirs = np.array(outputs["study"])
    medians = {name: common.median(values) for name, values in rates.items()}
    cpu_medians = {name: common.median(values) for name, values in cpu_rates.items()}
    return {
        "files_per_second": medians,
        "files_per_cpu_second": cpu_medians,
        "speedup": medians["artcnn"] / medians["study"],
        "cpu_speedup": cpu_medians["artcnn"] / cpu_medians["study"],
        "max_probability_difference": float(np.abs(ours - theirs).max()),
        "same_label": float(np.mean((ours >= 0.5) == (theirs >= 0.5))),
    }


def model_alone(model: Any, count: int, batch_size: int = 64, repeats: int = 3) -> dict:
    """The ceiling: the model scoring `count` tiles already in memory, resized, in batches. No reading,
    tiling or resizing: no classification of files can go faster than this."""
    import numpy as np

    size = model.input_shape[1]
    batch = np.random.default_rng(0).random((batch_size, size, size, 3), dtype=np.float32)
    model.predict_on_batch(batch)  # trace before timing
    batches = -(-count // batch_size)
    timings = [common.measured(lambda: [model.predict_on_batch(batch) for _ in range(batches)])[1:]
               for _ in range(repeats)]
    tiles = batches * batch_size
    return {"files_per_second": common.median([tiles / wall for wall, _ in timings]),
            "files_per_cpu_second": common.median([tiles / cpu for _, cpu in timings])}


def stages(model: Any, metadata: dict, files: Sequence[Path], batch_size: int = 64) -> dict[str, float]:
    """CPU milliseconds per file of each stage of prediction.classify, run one after the other on one thread:
    reading (open and decode), sha256, perceptual hash, tiling, the resize to the model's input, the model, and for
    a model with a statistics head the artwork's global statistics."""
    import time

    import numpy as np

    from artcnn.data import model_inputs
    from artcnn.duplicates import perceptual_hash
    from artcnn.images import read_artwork, sha256_file
    from artcnn.prediction import model_tiling
    from artcnn.tiling import cut_tiles

    tiling = model_tiling(metadata)
    size = metadata.get("input_size") or tiling.tile_size

    def cpu_ms(work: Callable[[], Any]) -> tuple[Any, float]:
        started = time.process_time()
        result = work()
        return result, (time.process_time() - started) * 1000 / len(files)

    images, read = cpu_ms(lambda: [read_artwork(file).image for file in files])
    _, sha = cpu_ms(lambda: [sha256_file(file) for file in files])
    _, phash = cpu_ms(lambda: [perceptual_hash(image) for image in images])
    cuts, tile = cpu_ms(lambda: [cut_tiles(image, tiling, grid=True, keep_blank=True) for image in images])
    inputs, resizing = cpu_ms(lambda: model_inputs([t.pixels for cut in cuts for t in cut.tiles], size))
    batches = [inputs[start:start + batch_size] for start in range(0, len(inputs), batch_size)]
    model.predict_on_batch(batches[0])  # traced before timing
    _, scoring = cpu_ms(lambda: [model.predict_on_batch(batch) for batch in batches])
    costs = {"read and decode": read, "sha256": sha, "perceptual hash": phash, "tiling": tile, "resize": resizing,
             "model": scoring}
    if "statistics" in metadata:
        from artcnn.image_statistics import image_statistics

        _, costs["global statistics"] = cpu_ms(lambda: [image_statistics(image) for image in images])
    return costs


def whole_artworks(model: Any, metadata: dict, files: Sequence[Path], repeats: int,
                   log: Callable[[str], None] = print) -> dict:
    """prediction.classify over large artworks: median artworks/s (wall and per CPU-second), tiles of each."""
    rates, cpu_rates, tiles = [], [], []
    for repeat in range(1, repeats + 1):
        results, wall, cpu = common.measured(lambda: artcnn_classify(model, metadata, files))
        failed = [result for result in results if result.error]
        if failed:
            raise RuntimeError(f"{failed[0].file}: {failed[0].error}")
        rates.append(len(files) / wall)
        cpu_rates.append(len(files) / cpu)
        tiles = [result.tiles for result in results]
        log(f"repeat {repeat} whole artworks: {len(files)} in {wall:6.2f} s = {rates[-1]:5.2f} artworks/s, "
            f"{sum(tiles) / wall:6.1f} tiles/s ({cpu:6.2f} CPU s)")
    return {"artworks_per_second": common.median(rates), "artworks_per_cpu_second": common.median(cpu_rates),
            "tiles_per_artwork": tiles}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a saved .keras/.h5 model; default: a fresh `seed` model")
    parser.add_argument("--tiles", type=int, default=256, help="single-tile files to classify each way")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions")
    parser.add_argument("--artworks", type=int, default=6, help="large artworks for the whole-artwork figure")
    parser.add_argument("--size", type=int, nargs=2, default=(4000, 3000), metavar=("WIDTH", "HEIGHT"))
    args = parser.parse_args(argv)

    from artcnn.storage import load_model

    out = common.OUT / "classify_speed"
    model_path = args.model or common.benchmark_model("seed", out / "seed_untrained.keras")
    model, metadata = load_model(model_path)
    tiles = tile_files(common.demo_dataset(common.OUT / "demo", 24), args.tiles)
    print(f"machine: {common.machine()}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"model: {model_path} ({metadata.get('recipe', '?')}, input {metadata['input_size']} px)")
    print(f"single tiles: {len(tiles)} files of 256×256 px, {args.repeats} repetitions each, alternating")
    single = compare(model, metadata, tiles, args.repeats)
    artworks = large_artworks(out, args.artworks, *args.size)
    print(f"whole artworks: {len(artworks)} JPEGs of {args.size[0]}×{args.size[1]} px")
    whole = whole_artworks(model, metadata, artworks, args.repeats)
    study, ours = single["files_per_second"]["study"], single["files_per_second"]["artcnn"]
    cpu = single["files_per_cpu_second"]
    print(f"study (load_img + predict per image) median {study:7.1f} files/s, {cpu['study']:7.1f} per CPU-second")
    print(f"artcnn (prediction.classify)         median {ours:7.1f} files/s, {cpu['artcnn']:7.1f} per CPU-second")
    ceiling = model_alone(model, len(tiles))
    costs = stages(model, metadata, tiles)
    print("CPU per single-tile file, stage by stage on one thread: "
          + ", ".join(f"{name} {ms:.2f} ms" for name, ms in costs.items())
          + f" (sum {sum(costs.values()):.2f} ms; end to end {1000 / cpu['artcnn']:.2f} ms of CPU per file)")
    print(f"ceiling: the model alone on resized tiles in memory, batches of 64: {ceiling['files_per_second']:7.1f} "
          f"tiles/s, {ceiling['files_per_cpu_second']:7.1f} per CPU-second")
    # Decoding and the model (with a statistics head, the statistics too) are the stages no pipeline can skip;
    # spread perfectly over every core, they alone bound the files/s any classification of these files reaches here.
    cores = len(os.sched_getaffinity(0))
    unavoidable = [name for name in ("read and decode", "model", "global statistics") if name in costs]
    floor_ms = sum(costs[name] for name in unavoidable)
    bound = cores * 1000 / floor_ms
    print(f"bound: {' + '.join(unavoidable)} = {floor_ms:.2f} ms of CPU per file; on {cores} cores at most "
          f"{bound:.1f} files/s = {bound / study:.1f}× the study's median, even if nothing else cost anything")
    print(f"artcnn ÷ study: {single['speedup']:.1f}× wall clock, {single['cpu_speedup']:.1f}× per CPU-second; "
          f"ceiling ÷ study: {ceiling['files_per_second'] / study:.1f}× wall clock, "
          f"{ceiling['files_per_cpu_second'] / cpu['study']:.1f}× per CPU-second")
    print(f"outputs: largest probability difference {single['max_probability_difference']:.4f} "
          f"(resize filters differ), same label for {100 * single['same_label']:.1f}% of files")
    print(f"whole artworks {args.size[0]}×{args.size[1]}: median {whole['artworks_per_second']:.2f} artworks/s "
          f"({whole['artworks_per_cpu_second']:.2f} per CPU-second), {whole['tiles_per_artwork'][0]} tiles each")
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    print(f"classify_speedup: {single['speedup']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
