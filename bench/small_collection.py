"""A small collection of one's own, as in the study: `default` against `seed`, trained on 25 + 25 artworks.

    python bench/small_collection.py --data ../shared/data/artworks            # 5 draws of 25 + 25
    python bench/small_collection.py --data ../shared/data/artworks --per-class 50 --draws 3

The study trained on 25 + 25 of one artist's works; a curator or artist retraining artcnn on a small collection
of their own is in that place. Each draw takes `--per-class` artworks of each class at random from `--data`
(links, in the work folder), and every variant below cuts them with the same split (30% of each class's artworks
held out whole, the same ones for every variant) and trains on the rest: `seed` as the study did (10 random
256-px tiles per artwork, 20 epochs), `default` as the product does (the dataset's and recipe's defaults), and
`default` on 10 tiles per artwork. The held-out artworks' verdicts are pooled over draws: artwork accuracy with a
95% Wilson interval, and each draw's. These are the same sources on both sides, as in the study: unseen artists
are bench/unseen_artists.py's. Work goes to bench/out/small_collection; finished runs are reused.
The last line printed is `small_collection_default_minus_seed: <points>`.
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

# name → (the dataset's tiling, the training) for a draw's seed.
VARIANTS = {
    "seed (the study: 10 tiles, 20 epochs)": (
        lambda seed: TilingConfig(tiles_per_artwork=10, whole_view=False, seed=seed),
        lambda seed: TrainConfig(recipe="seed", epochs=STUDY_EPOCHS, seed=seed)),
    "default": (lambda seed: TilingConfig(seed=seed), lambda seed: TrainConfig(recipe="default", seed=seed)),
    "default, 10 tiles per artwork": (lambda seed: TilingConfig(tiles_per_artwork=10, seed=seed),
                                      lambda seed: TrainConfig(recipe="default", seed=seed)),
}


def draw(artworks: Path, folder: Path, per_class: int, seed: int) -> Path:
    """A folder of links to `per_class` image files of each class of `artworks`, drawn at random with `seed`."""
    import numpy as np

    from artcnn.dataset_build import class_folders

    if per_class < 2:
        raise ValueError(f"per_class must be at least 2 (one to train on, one to test). Received: per_class={per_class}")
    rng, chosen = np.random.default_rng(seed), {}
    for name, files in class_folders(artworks).items():
        if len(files) < per_class:
            raise ValueError(f"class {name} of {artworks} has {len(files)} artworks, fewer than {per_class}.")
        chosen[name] = rng.choice(sorted(files), per_class, replace=False)
    return common.linked_collection(folder, chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="artworks folder with one sub-folder per class")
    parser.add_argument("--per-class", type=int, default=25, help="artworks of each class in a draw (the study's 25)")
    parser.add_argument("--draws", type=int, default=5, help="random draws, each trained on by every variant")
    parser.add_argument("--out", type=Path, default=common.OUT / "small_collection", help="work folder")
    args = parser.parse_args(argv)
    if args.draws < 1:
        raise SystemExit(f"--draws must be at least 1. Received: {args.draws}")

    from artcnn.dataset import read_description, read_manifest
    from artcnn.evaluation import wilson_interval
    from artcnn.run_folder import read_run

    print(f"machine: {common.machine()}; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    usage = _Usage()
    correct = {name: [] for name in VARIANTS}
    for seed in range(args.draws):
        artworks = draw(args.data.resolve(), args.out / f"draw{seed}_{args.per_class}" / "artworks", args.per_class,
                        seed)
        held_out = {}
        for number, (name, (tiling, training)) in enumerate(VARIANTS.items()):
            dataset = artworks.parent / f"dataset{number}"
            prepare_dataset(artworks, dataset, tiling(seed), lambda line: print(line, flush=True))
            run_dir = artworks.parent / f"run{number}"
            train_run(dataset, run_dir, training(seed), usage, lambda line: print(line, flush=True))
            metrics = read_run(run_dir)["metrics"]
            manifest = read_manifest(read_description(dataset))
            held_out[name] = frozenset(manifest.loc[manifest["split"] == "test", "artwork"])
            correct[name].append((metrics["artwork_accuracy"]["correct"], metrics["artwork_accuracy"]["total"]))
            print(f"draw {seed} {name}: {common.percent_with_interval(metrics['artwork_accuracy'])} of held-out "
                  f"artworks", flush=True)
        if len(set(held_out.values())) != 1:
            raise RuntimeError(f"draw {seed}: the variants held out different artworks")
    usage.finish()
    print(f"\n{args.draws} draws of {args.per_class} + {args.per_class} artworks from {args.data}, 30% held out:")
    pooled = {}
    for name, counts in correct.items():
        right, total = sum(c for c, _ in counts), sum(t for _, t in counts)
        low, high = wilson_interval(right, total)
        pooled[name] = right / total
        print(f"{name:40s} {100 * right / total:5.1f}% [{100 * low:.1f}, {100 * high:.1f}] ({right}/{total}); "
              "draws: " + ", ".join(f"{c}/{t}" for c, t in counts))
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    seed_name = next(iter(VARIANTS))
    print(f"small_collection_default_minus_seed: {100 * (pooled['default'] - pooled[seed_name]):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
