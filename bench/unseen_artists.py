"""Artists the model has never seen: leave-sources-out accuracy on real art, as files are and as thumbnails.

    python bench/unseen_artists.py --data ../shared/data/artworks --variants default

Every source (filename prefix) is held out whole: the sources, in class order, are dealt round-robin
into `--folds` groups (so every fold holds out hand-made and generative sources alike); each fold
trains on all the other sources' tiles and scores the held-out sources' artworks twice, from the
files as they are and from copies reduced to a `--small`-px long side (JPEG, quality 90), cut the
same way. A work's verdict must come from how it was made, not from its file's size. Per source:
artwork accuracy (the recipe's verdict: the mean tile probability, blended with the artwork's global
statistics when the recipe's statistics_weight says so, the head fitted on the fold's training artworks;
such a variant also gets a "tiles alone" row from the same models) with a 95% Wilson interval; then the
mean over sources and the worst one. Each finished fold's tile means are kept in
bench/out/unseen/<variant>/ and reused by a run with the same settings and the same synthetic tiles.
`--scoring classify` scores each held-out artwork on the tiles `classify` cuts (the grid, blank tiles kept, the
whole view last) instead of its random dataset tiles, and a recipe with whole views gets one more row: its whole
view counted as one tile among the grid's instead of as in training (evaluation.tile_mean).
The last line printed is `unseen_mean_accuracy: <value>` of the first variant, as files are.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artcnn.config import IMAGE_SUFFIXES, TilingConfig, TrainConfig, to_dict  # noqa: E402
from artcnn.evaluation import source_of  # noqa: E402
from artcnn.images import sha256_file  # noqa: E402
from artcnn.models import resolve_recipe  # noqa: E402
from bench import common  # noqa: E402
from bench.reproduce_study import prepare_dataset  # noqa: E402

RESULTS = common.ROOT / "bench" / "results" / "unseen_artists.md"
KINDS = ("as files are", "thumbnails")


@dataclass(frozen=True)
class Variant:
    # What is trained, in a few words.
    description: str
    # The recipe and its settings (epochs None: the bench's --epochs).
    train: TrainConfig
    # Long side every artwork is scaled to before tiling (None: as it is).
    long_side: int | None = None
    # Every artwork also gives one tile of its whole (TilingConfig.whole_view), in training and scoring; the
    # variants measured before whole views existed have none.
    whole_view: bool = False


_DEFAULT = resolve_recipe(TrainConfig(recipe="default"))
VARIANTS = {
    "default": Variant(f"`default` as shipped (tiles at the file's own scale and a whole view; synthetic hand drawings, "
                       f"{_DEFAULT.drawn_ratio:g} per hand-made artwork; its statistics head also fitted on synthetic "
                       f"ink drawings, {_DEFAULT.head_drawn_ratio:g} per hand-made artwork, and generative pictures, "
                       f"{_DEFAULT.head_prior_ratio:g} per generative one; verdict {_DEFAULT.statistics_weight:g} "
                       f"global statistics, {1 - _DEFAULT.statistics_weight:g} tiles)",
                       TrainConfig(recipe="default"), whole_view=TilingConfig().whole_view),
    "default, 192-px input": Variant("`default` with its tiles resized to 192 px instead of 128 (finer strokes and grain)",
                                     TrainConfig(recipe="default", input_size=192), whole_view=TilingConfig().whole_view),
    "default, no whole view": Variant("`default` without the whole view (the tiles at the file's own scale only)",
                                      TrainConfig(recipe="default"), whole_view=False),
    "default, no drawings": Variant("`default` without its synthetic hand drawings (drawn_ratio 0)",
                                    TrainConfig(recipe="default", drawn_ratio=0.0)),
    "default, twice the drawings": Variant("`default` with 0.5 synthetic hand drawings per hand-made artwork",
                                           TrainConfig(recipe="default", drawn_ratio=0.5)),
    "default + prior": Variant("`default` + algorithmic-art prior (0.5 synthetic per real kom tile)",
                               TrainConfig(recipe="default", prior_ratio=0.5)),
    "scaled + degrade + prior": Variant(
        "`robust` (default + degrade augmentation), artworks scaled to a 512-px long side, prior 0.5",
        TrainConfig(recipe="robust", prior_ratio=0.5), long_side=512),
    "default + balanced": Variant("`default`, training tiles resampled so every source of a class gives as many "
                                  "(balance_sources)", TrainConfig(recipe="default", balance_sources=True)),
    "default + degrade": Variant("`robust`: `default` (with its whole view) whose training tiles are also shrunk and "
                                 "re-enlarged, or re-encoded as JPEG, at random", TrainConfig(recipe="robust"),
                                 whole_view=TilingConfig().whole_view),
    "reduced artworks": Variant("`default` on every artwork reduced to a 256-px long side: each tile shows most of "
                                "the artwork", TrainConfig(recipe="default"), long_side=256),
    "scaled + degrade": Variant("`robust` (default + degrade augmentation), artworks scaled to a 512-px long side",
                                TrainConfig(recipe="robust"), long_side=512),
}


def source_groups(table, folds: int) -> list[list[str]]:
    """Sources in class order (then by name) dealt round-robin into `folds` groups."""
    ordered = table.drop_duplicates("source").sort_values(["class", "source"])["source"].tolist()
    return [ordered[index::folds] for index in range(folds)]


def check_groups(groups: list[list[str]], sources: set[str]) -> None:
    """Every source in `groups` must exist and be held out at most once (a subset of sources is allowed)."""
    named = sum(groups, [])
    unknown = sorted(set(named) - sources)
    twice = sorted({source for source in named if named.count(source) > 1})
    if unknown or twice:
        raise ValueError(f"--groups must name known sources, each once. Unknown: {', '.join(unknown) or 'none'}; "
                         f"named twice: {', '.join(twice) or 'none'}")


def reduced_copies(artworks: Path, out: Path, long_side: int) -> Path:
    """Every artwork of `artworks` (class sub-folders) as a JPEG with at most `long_side` px, once."""
    from PIL import Image

    from artcnn.images import load_artwork
    from artcnn.dataset_build import class_folders

    if (out / "done").is_file():
        return out
    for name, files in class_folders(artworks).items():
        (out / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            image = load_artwork(file)
            image.thumbnail((long_side, long_side), Image.LANCZOS)
            image.save(out / name / f"{file.stem}.jpg", quality=90)
    (out / "done").write_text("")
    return out


def classified_tiles(manifest, folder: Path, tiling: TilingConfig, log: Callable[[str], None]):
    """Every artwork of a dataset's `manifest` cut as prediction.classify cuts it (reading.read_for_tiles: the grid
    of the model's tiling, blank tiles kept, the whole view last), its tiles written to `folder` once: one row per
    tile (a DataFrame) with artwork, class, source, tile (its file) and whole."""
    import pandas as pd
    from PIL import Image

    from artcnn.config import PredictConfig
    from artcnn.reading import read_for_tiles

    artworks = manifest.drop_duplicates("artwork")[["artwork", "class", "source"]]
    # The same tiling of the same artworks: a collection that changed is cut again.
    settings = json.loads(json.dumps({"tiling": to_dict(tiling), "artworks": hashlib.sha256(
        "\n".join(artworks["artwork"]).encode()).hexdigest()}))
    if (folder / "tiles.csv").is_file() and json.loads((folder / "settings.json").read_text()) == settings:
        log(f"reusing the tiles classify cuts in {folder}")
        return pd.read_csv(folder / "tiles.csv")
    log(f"cutting {manifest['artwork'].nunique()} artworks as classify does into {folder} ...")
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (artwork, label, source) in enumerate(artworks.itertuples(index=False)):
        pending, pixels = read_for_tiles(index, Path(artwork), tiling, PredictConfig())
        if pending.error is not None:
            raise ValueError(f"{artwork}: {pending.error}")
        for number, (tile, whole) in enumerate(zip(pixels, pending.whole)):
            file = folder / f"{index:05d}_{number:03d}.png"
            Image.fromarray(tile).save(file)
            rows.append({"artwork": artwork, "class": label, "source": source, "tile": str(file), "whole": whole})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "tiles.csv", index=False)
    (folder / "settings.json").write_text(json.dumps(settings))
    return table


def artworks_of(tiles, classes: list[str], tiling: TilingConfig, whole_as_trained: bool):
    """Scored classify tiles (classified_tiles rows with p_<class>, kind, fold) as artworks: artwork, class, source,
    tiles, p_<class>, kind, fold; each artwork's tiles averaged by evaluation.tile_mean (its whole view weighing as
    in training), or `whole_as_trained` False, plainly (the whole view one tile among the grid's)."""
    import pandas as pd

    from artcnn.evaluation import tile_mean

    columns = [f"p_{name}" for name in classes]
    rows = []
    for (kind, artwork), group in tiles.groupby(["kind", "artwork"], sort=True):
        probabilities = group[columns].to_numpy()
        mean = (tile_mean(probabilities, group["whole"].to_numpy(), tiling) if whole_as_trained
                else probabilities.mean(axis=0))
        first = group.iloc[0]
        rows.append({"artwork": artwork, "class": first["class"], "source": first["source"], "tiles": len(group),
                     **dict(zip(columns, mean)), "kind": kind, "fold": first["fold"]})
    return pd.DataFrame(rows)


def run_variant(name: str, variant: Variant, artworks: Path, out: Path, *, folds: int, tiles: int, epochs: int,
                small: int, groups: list[list[str]] | None, log: Callable[[str], None], tile_size: int = 256,
                seed: int = 0, scoring: str = "tiles"):
    """Every artwork's out-of-fold probabilities for `variant` (DataFrames with kind, source, fold): {row name:
    its artworks}, one row, plus one of the tiles alone when the recipe blends in global statistics. `scoring`
    "tiles" scores a held-out artwork's dataset tiles (the random ones, as in training); "classify" the tiles
    prediction.classify cuts (the grid), plus a row with its whole view counted as one tile among them."""
    import numpy as np
    import pandas as pd

    from artcnn import data, fitting, models
    from artcnn.crossval import fit_and_predict
    from artcnn.dataset import read_statistics
    from artcnn.evaluation import artwork_probabilities, class_probabilities
    from artcnn.folds import assign_sources

    tiling = TilingConfig(tile_size=tile_size, tiles_per_artwork=tiles, test_fraction=0.0, long_side=variant.long_side,
                          whole_view=variant.whole_view)
    name_of_tiles = f"tiles-{variant.long_side or 'asis'}-{tiles}" + ("-whole" if variant.whole_view else "")
    datasets = {KINDS[0]: out / name_of_tiles, KINDS[1]: out / f"{name_of_tiles}-small{small}"}
    prepare_dataset(artworks, datasets[KINDS[0]], tiling, log)
    prepare_dataset(reduced_copies(artworks, out / f"small{small}", small), datasets[KINDS[1]], tiling, log)
    infos = {kind: data.read_dataset(path) for kind, path in datasets.items()}
    manifests = {kind: info.manifest.reset_index(drop=True) for kind, info in infos.items()}
    for manifest in manifests.values():
        manifest["source"] = manifest["artwork"].map(assign_sources(sorted(manifest["artwork"].unique())))
    train_info, train_manifest = infos[KINDS[0]], manifests[KINDS[0]]
    classes = train_info.classes
    config = dataclasses.replace(variant.train, epochs=variant.train.epochs or epochs, weights=None, seed=seed)
    recipe = models.resolve_recipe(config)
    weight = recipe.statistics_weight
    statistics = {kind: read_statistics(info) for kind, info in infos.items()}
    columns = [f"p_{name}" for name in classes]
    classify = scoring == "classify"
    if classify:
        tests_of = {kind: classified_tiles(manifests[kind], out / f"{datasets[kind].name}-classify", tiling, log)
                    for kind in KINDS}
    else:
        tests_of = {kind: manifest.assign(tile=[str(infos[kind].path / tile) for tile in manifest["tile"]])
                    for kind, manifest in manifests.items()}
    folder = out / (name.replace(" ", "_").replace("+", "plus") + (f"_seed{seed}" if seed else "")
                    + ("_classify" if classify else ""))
    folder.mkdir(parents=True, exist_ok=True)
    # Per fold: what was scored (artworks; for "classify", tiles) and the statistics head of its training side.
    scored, heads = [], []
    with tempfile.TemporaryDirectory(prefix="artcnn-synthetic-") as scratch:
        whole = fitting.synthetic_additions(train_info, train_manifest, config, scratch, None)
        groups = groups or source_groups(train_manifest, folds)
        check_groups(groups, set(train_manifest["source"]))
        for index, group in enumerate(groups):
            held = train_manifest["source"].isin(group).to_numpy()
            train_rows = train_manifest[~held]
            # As many drawings per hand-made training artwork as a final model gets.
            additions = whole.for_rows(train_rows)
            # The CNN does not depend on statistics_weight: folds saved before it existed, or with another, serve.
            train_settings = {key: value for key, value in to_dict(config).items()
                              if key not in ("statistics_weight", "drawn_ratio", "drawn_class")}
            # Folds saved before the hand drawings existed had none: only a fold with drawings records them.
            if additions.counterpart is not None:
                train_settings["drawings"] = [config.drawn_class, additions.counterpart.drawings]
            # What the synthetic tiles show, not only how many: a fold saved before a generator, an export or a
            # count changed is trained again instead of being reused.
            if additions.files:
                train_settings["synthetic_tiles"] = hashlib.sha256(
                    "".join(sha256_file(file) for file in additions.files).encode()).hexdigest()
            settings = json.loads(json.dumps({"train": train_settings, "tiling": to_dict(tiling), "small": small,
                                              "group": group}))
            heads.append(fitting.statistics_head(train_info, train_rows, recipe, additions)[0])
            saved = folder / f"fold{index}.csv"
            if saved.is_file() and json.loads((folder / f"fold{index}.json").read_text()) == settings:
                scored.append(pd.read_csv(saved))
                continue
            started = time.monotonic()
            tests = {kind: tests_of[kind][tests_of[kind]["source"].isin(group)].reset_index(drop=True)
                     for kind in KINDS}
            train_files, labels = fitting.training_tiles(
                [str(train_info.path / tile) for tile in train_rows["tile"]],
                train_rows["class"].map(classes.index).to_numpy(dtype=np.int64), list(train_rows["artwork"]),
                additions, config)

            def report(event, index=index):
                step = event.payload
                if getattr(step, "epoch_end", False):
                    log(f"  {name}: fold {index + 1}/{len(groups)} epoch {step.epoch + 1}/{step.epochs} "
                        f"{time.monotonic() - started:.0f} s")

            outputs = fit_and_predict(train_files, labels, [tile for kind in KINDS for tile in tests[kind]["tile"]],
                                      len(classes), config, report, None)
            first = len(tests[KINDS[0]])
            parts = {KINDS[0]: outputs[:first], KINDS[1]: outputs[first:]}
            if classify:
                fold = pd.concat([tests[kind].assign(kind=kind, fold=index, **dict(zip(
                    columns, class_probabilities(parts[kind], len(classes)).T))) for kind in KINDS], ignore_index=True)
            else:
                fold = pd.concat([artwork_probabilities(tests[kind], parts[kind], classes).assign(
                    kind=kind, fold=index,
                    source=lambda frame: frame["artwork"].map(assign_sources(list(frame["artwork"]))))
                    for kind in KINDS], ignore_index=True)
            fold.to_csv(saved, index=False)
            (folder / f"fold{index}.json").write_text(json.dumps(settings))
            log(f"{name}: fold {index + 1}/{len(groups)} ({', '.join(group)}) in {time.monotonic() - started:.0f} s")
            scored.append(fold)
    # A classify-scored variant with whole views also gets the verdict that counts its whole view as one grid tile.
    ways = {name: True, **({f"{name}, whole view as one tile": False} if classify and variant.whole_view else {})}
    rows = {}
    for row, as_trained in ways.items():
        artworks_per_fold = [artworks_of(fold, classes, tiling, as_trained) if classify else fold for fold in scored]
        if weight:
            rows[row] = pd.concat([_blend(fold, head, statistics, columns)
                                   for fold, head in zip(artworks_per_fold, heads)], ignore_index=True)
        if not weight or as_trained:
            rows[f"{row}, tiles alone" if weight else row] = pd.concat(artworks_per_fold, ignore_index=True)
    return rows, classes


def _blend(fold, head, statistics: dict, columns: list[str]):
    """A fold's artworks with their verdict probabilities (evaluation.verdict_probabilities of its tile means)."""
    from artcnn.evaluation import verdict_probabilities

    fold = fold.copy()
    for kind in KINDS:
        rows = (fold["kind"] == kind).to_numpy()
        fold.loc[rows, columns] = verdict_probabilities(fold.loc[rows, "artwork"].to_numpy(),
                                                        fold.loc[rows, columns].to_numpy(), head, statistics[kind])
    return fold


def per_source(artworks, classes: list[str]) -> dict[str, dict[str, dict]]:
    """kind → source → {"class", "correct", "total", "value", "low", "high"}."""
    import numpy as np

    from artcnn.evaluation import wilson_interval

    predicted = np.asarray(classes)[artworks[[f"p_{name}" for name in classes]].to_numpy().argmax(axis=1)]
    artworks = artworks.assign(correct=predicted == artworks["class"].to_numpy())
    table: dict[str, dict[str, dict]] = {}
    for (kind, source), rows in artworks.groupby(["kind", "source"], sort=True):
        hits, total = int(rows["correct"].sum()), len(rows)
        low, high = wilson_interval(hits, total)
        table.setdefault(kind, {})[source] = {"class": str(rows["class"].iloc[0]), "correct": hits, "total": total,
                                              "value": hits / total, "low": low, "high": high}
    return table


def summary(rows: dict[str, dict]) -> tuple[float, float]:
    """Mean over sources and the worst source's accuracy."""
    values = [row["value"] for row in rows.values()]
    return sum(values) / len(values), min(values)


def render_table(results: dict[str, dict], settings: str, command: str, machine: str) -> str:
    sources = sorted({source for result in results.values() for kind in result.values() for source in kind},
                     key=lambda source: (next(iter(results.values()))[KINDS[0]][source]["class"], source))
    lines = ["# Artists the model has never seen", "", f"Measured by `{command}` on {machine}.", "", settings, "",
             "| variant | kind | mean over sources | worst source | "
             + " | ".join(f"{source} ({next(iter(results.values()))[KINDS[0]][source]['class']})" for source in sources)
             + " |", "| --- | --- | ---: | ---: |" + " ---: |" * len(sources)]
    for name, result in results.items():
        for kind in KINDS:
            mean, worst = summary(result[kind])
            cells = [common.percent_with_interval(result[kind][source]) for source in sources]
            lines.append(f"| {name} | {kind} | {mean:.1%} | {worst:.1%} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="artworks folder with one sub-folder per class")
    parser.add_argument("--out", type=Path, default=common.OUT / "unseen", help="work folder (tiles, folds)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["default"])
    parser.add_argument("--folds", type=int, default=5, help="groups of held-out sources")
    parser.add_argument("--tiles", type=int, default=4, help="random tiles per artwork")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of every fold (the 2-core budget)")
    parser.add_argument("--groups", help="held-out sources per fold, e.g. 'a,b;c,d' (default: round-robin)")
    parser.add_argument("--seed", type=int, default=0, help="training seed of every fold (the tiles stay the same)")
    parser.add_argument("--small", type=int, default=256, help="long side of the thumbnail copies")
    parser.add_argument("--scoring", choices=("tiles", "classify"), default="tiles",
                        help="score a held-out artwork's random dataset tiles (as in training), or the grid of tiles "
                             "prediction.classify cuts (default: tiles)")
    parser.add_argument("--results", type=Path, help=f"where to write the table (markdown; default {RESULTS.name} "
                                                     "when every source is held out, required otherwise)")
    args = parser.parse_args(argv)
    groups = [group.split(",") for group in args.groups.split(";")] if args.groups else None
    if args.results is None:
        sources = {source_of(file) for folder in args.data.iterdir() if folder.is_dir() for file in folder.iterdir()
                   if file.suffix.lower() in IMAGE_SUFFIXES}
        if groups is not None and set(sum(groups, [])) != sources:
            parser.error(f"--groups holds out only some sources: give --results, so that {RESULTS.name} (every "
                         "source held out) is kept")
        args.results = RESULTS

    def log(message: str) -> None:
        print(message, flush=True)

    results = {}
    for name in args.variants:
        rows, classes = run_variant(name, VARIANTS[name], args.data.resolve(), args.out, folds=args.folds,
                                    tiles=args.tiles, epochs=args.epochs, small=args.small,
                                    groups=groups, log=log, seed=args.seed, scoring=args.scoring)
        results.update({row: per_source(artworks, classes) for row, artworks in rows.items()})
    settings = (f"256-px tiles, {args.tiles} per artwork at seeded random places; {args.epochs} epochs per fold, "
                f"training seed {args.seed}; "
                f"{len(groups) if groups else args.folds} folds, each holding out whole sources; thumbnails: "
                f"every held-out artwork reduced to a {args.small}-px long side, scored by the same fold's model"
                + (" on the grid of tiles `classify` cuts (blank tiles kept, the whole view last). " if args.scoring ==
                   "classify" else " on its random tiles. ") +
                "Accuracy per artwork (its verdict: the mean of its tile probabilities, blended with its global "
                "statistics by recipes that do so; \"tiles alone\": the same models, the mean of the tiles) in percent, "
                "95% Wilson interval, count.\n\n" + "\n".join(f"- {name}: {VARIANTS[name].description}"
                                                          for name in args.variants))
    command = "python bench/unseen_artists.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    table = render_table(results, settings, command, common.machine())
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(table, encoding="utf-8")
    print(table)
    for name, result in results.items():
        for kind in KINDS:
            mean, worst = summary(result[kind])
            print(f"{name}, {kind}: mean {mean:.1%}, worst {worst:.1%}")
    print(f"unseen_mean_accuracy: {summary(next(iter(results.values()))[KINDS[0]])[0]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
