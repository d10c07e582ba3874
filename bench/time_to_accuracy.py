"""Time to accuracy: how long `seed` (the study's final configuration) and `default` train before their test tile
accuracy first reaches what `seed` reaches after its 20 epochs, in one run on the same tiles, beside images/s.

    python bench/time_to_accuracy.py --data ../shared/data/artworks
    python bench/time_to_accuracy.py --data ../shared/data/artworks --per-class 150   # the first 150 of each class

The model bounds how fast one epoch can go on a CPU (bench/train_speed.py); what a recipe changes is how many
epochs, and of what cost, it needs to be as good. Both recipes are trained by training.train as the app does
(reproduce_study.train_run: a finished run with the same settings is kept, an interrupted one resumed), on the
study's tiles (256 px, 10 per artwork, split by artwork). Each epoch's validation is the test split, so the
epoch's val_accuracy is the test tile accuracy after it; the time to accuracy is the wall time of the epochs (each
with its validation pass) up to the first whose accuracy reaches the target. Work goes to bench/out/time_to_accuracy.
The last line printed is `time_to_accuracy_speedup: <seed's time ÷ default's time>` (empty when default never
reaches the target).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artcnn.config import TilingConfig, TrainConfig  # noqa: E402
from bench import common  # noqa: E402
from bench.reproduce_study import STUDY_EPOCHS, _Usage, prepare_dataset, train_run  # noqa: E402

RECIPES = ("seed", "default")


def subset(artworks: Path, folder: Path, per_class: int) -> Path:
    """A folder of links to the first `per_class` image files (sorted) of each class of `artworks`."""
    from artcnn.images import iter_image_files

    if per_class < 1:
        raise ValueError(f"per_class must be at least 1. Received: per_class={per_class}")
    return common.linked_collection(folder, {klass.name: list(iter_image_files([klass]))[:per_class]
                                             for klass in sorted(path for path in artworks.iterdir() if path.is_dir())})


def curve(history: list[dict]) -> list[tuple[int, float, float]]:
    """(epoch, test tile accuracy after it, wall seconds of training up to and including it) per epoch."""
    elapsed, points = 0.0, []
    for row in history:
        elapsed += float(row["seconds"])
        points.append((int(row["epoch"]), float(row["val_accuracy"]), elapsed))
    return points


def time_to(points: list[tuple[int, float, float]], target: float) -> tuple[int, float] | None:
    """The first epoch whose accuracy is at least `target`, and the seconds until it; None if none is."""
    return next(((epoch, seconds) for epoch, accuracy, seconds in points if accuracy >= target), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="artworks folder with one sub-folder per class")
    parser.add_argument("--per-class", type=int, help="use only the first N artworks of each class")
    parser.add_argument("--out", type=Path, default=common.OUT / "time_to_accuracy", help="work folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from artcnn.data import labels_for, read_dataset
    from artcnn.run_folder import read_run

    artworks = args.data.resolve()
    if args.per_class:
        artworks = subset(artworks, args.out / f"artworks_{args.per_class}", args.per_class)
    dataset = args.out / ("dataset" if not args.per_class else f"dataset_{args.per_class}")
    print(f"machine: {common.machine()}; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    prepare_dataset(artworks, dataset, TilingConfig(tile_size=256, tiles_per_artwork=10, seed=args.seed,
                                                          whole_view=False), print)
    info = read_dataset(dataset)
    train_tiles, test_tiles = len(labels_for(info, "train")[0]), len(labels_for(info, "test")[0])
    print(f"data: {artworks} → {train_tiles} training and {test_tiles} test tiles (256 px, split by artwork)")
    usage = _Usage()
    configs = {"seed": TrainConfig(recipe="seed", epochs=STUDY_EPOCHS, seed=args.seed),
               "default": TrainConfig(recipe="default", seed=args.seed)}
    runs = {}
    for name in RECIPES:
        run_dir = args.out / "runs" / f"{dataset.name} {name}"
        train_run(dataset, run_dir, configs[name], usage, lambda line: print(line, flush=True))
        runs[name] = read_run(run_dir)
    usage.finish()
    points = {name: curve(run["history"]) for name, run in runs.items()}
    target = points["seed"][-1][1]
    print(f"target: {target:.4f}, the test tile accuracy of `seed` after its {len(points['seed'])} epochs")
    reached = {}
    for name in RECIPES:
        epochs, total = len(points[name]), points[name][-1][2]
        reached[name] = time_to(points[name], target)
        when = (f"reaches it after epoch {reached[name][0]} of {epochs}, {common.duration(reached[name][1])} "
                f"of training" if reached[name] else f"never reaches it in {epochs} epochs")
        best = max(accuracy for _, accuracy, _ in points[name])
        print(f"{name:8s} {when}; best {best:.4f}, last {points[name][-1][1]:.4f}; "
              f"{train_tiles * epochs / total:.1f} images/s over all {epochs} epochs ({common.duration(total)}, "
              f"validation passes included)")
        print(f"{name:8s} per epoch (epoch, test tile accuracy, minutes so far): "
              + ", ".join(f"{epoch} {accuracy:.3f} {seconds / 60:.1f}" for epoch, accuracy, seconds in points[name]))
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    ratio = reached["seed"][1] / reached["default"][1] if reached["default"] else None
    print(f"time_to_accuracy_speedup: {'' if ratio is None else f'{ratio:.2f}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
