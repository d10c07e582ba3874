"""`python -m artcnn`: the batch side of the product, for work too big for a browser.

Every command only turns flags into a config and calls one stage function.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Sequence

from artcnn.access import account_name, acting_as
from artcnn.cli_classify import add_collection_flags, add_export_command, run_classify
from artcnn.cli_collection import add_collection_commands
from artcnn.cli_training import add_training_commands, add_whole_view_flag
from artcnn.config import ImageLimits, PredictConfig, TilingConfig
from artcnn.images import check_inputs
from artcnn.terminal import TerminalBar, headline, metrics_summary


def _tiling_config(args: argparse.Namespace) -> TilingConfig:
    return TilingConfig(
        tile_size=args.tile_size,
        tiles_per_artwork=args.tiles_per_artwork,
        grid=args.grid,
        blank_threshold=args.blank_threshold,
        test_fraction=args.test_fraction,
        seed=args.seed,
        long_side=args.long_side,
        whole_view=args.whole_view,
        limits=_image_limits(args),
    )


def _image_limits(args: argparse.Namespace) -> ImageLimits:
    return ImageLimits(max_pixels=args.max_pixels, decode_pixels=args.decode_pixels)


def _add_image_limit_flags(command: argparse.ArgumentParser) -> None:
    defaults = ImageLimits()
    command.add_argument("--max-pixels", type=int, default=defaults.max_pixels,
                         help=f"refuse images with more pixels than this (decompression bombs; default "
                              f"{defaults.max_pixels:,})")
    command.add_argument("--decode-pixels", type=int, default=None,
                         help=f"reduce larger images to about this many pixels while decoding (default "
                              f"{defaults.decode_pixels:,}, or --max-pixels if lower)")


def cmd_demo(args: argparse.Namespace) -> int:
    from artcnn.demo import make_demo_collection

    made = make_demo_collection(Path(args.out), per_class=args.per_class, seed=args.seed)
    for name, files in made.items():
        print(f"{name}: {len(files)} synthetic artworks in {Path(args.out) / name}")
    return 0


def cmd_build_demo_model(args: argparse.Namespace) -> int:
    from artcnn.demo_model import build_demo_model

    with TerminalBar() as bar:
        metrics = build_demo_model(Path(args.out), progress=bar.update)
    print(f"held-out run on the synthetic demo, {headline(metrics)}")
    print(f"demo model saved to {args.out}, its card to {Path(args.out).with_suffix('.md')}")
    return 0


def cmd_tile(args: argparse.Namespace) -> int:
    from artcnn.duplicates import conflict_warnings
    from artcnn.dataset_build import build_dataset

    with TerminalBar() as bar:
        report = build_dataset(Path(args.artworks), Path(args.dataset), _tiling_config(args), progress=bar.update,
                               overwrite=args.overwrite)
    for split, per_class in report.counts.items():
        print(f"{split}: " + ", ".join(f"{name} {n} tiles / {report.artworks[split][name]} artworks"
                                       for name, n in per_class.items()))
    print(f"blank tiles skipped: {report.blank_tiles_skipped}; upscaled artworks: {len(report.upscaled)}")
    if report.duplicates:
        print(f"groups of near-duplicate artworks, each kept on one side of the split: {len(report.duplicates)}")
    for warning in conflict_warnings(report.duplicates):
        print(f"warning: {warning}", file=sys.stderr)
    for skipped in report.skipped:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    print(f"dataset written to {report.path}")
    return 0


def cmd_statistics(args: argparse.Namespace) -> int:
    from artcnn.statistics_update import statistics_outdated, update_statistics

    if not args.force and not statistics_outdated(args.dataset):
        print(f"{args.dataset} already has the current global statistics (--force measures them again anyway)")
        return 0
    with TerminalBar() as bar:
        measured = update_statistics(Path(args.dataset), progress=bar.update)
    print(f"global statistics of {measured} artworks measured again and written to {args.dataset}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from artcnn.evaluation import evaluate_model
    from artcnn.storage import load_model

    model, metadata = load_model(Path(args.model), safe_mode=not args.unsafe)
    metrics = evaluate_model(model, Path(args.dataset), split=args.split, batch_size=args.batch_size,
                             metadata=metadata, name=args.model)
    print(json.dumps(metrics, indent=2) if args.json else metrics_summary(metrics, args.split))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    # Every path named is checked before the model loads: a mistyped folder is an error, not a CSV of one row.
    check_inputs([args.model, *args.inputs])
    return run_classify(args, PredictConfig(batch_size=args.batch_size, max_tiles=args.max_tiles,
                                            limits=_image_limits(args), read_workers=args.read_workers,
                                            engine=args.engine, ray_address=args.ray_address))


def cmd_shortcuts(args: argparse.Namespace) -> int:
    from artcnn.folds import read_sources_csv
    from artcnn.shortcuts import check_shortcuts

    with TerminalBar() as bar:
        report = check_shortcuts(Path(args.data), limits=ImageLimits(max_pixels=args.max_pixels), seed=args.seed,
                                 sources=read_sources_csv(args.sources_csv) if args.sources_csv else None,
                                 progress=bar.update)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for score in report.properties:
            print(f"{score.name:<18} {score.accuracy['value']:>5.0%} ({score.accuracy['low']:.0%}-"
                  f"{score.accuracy['high']:.0%}){'  separates the classes' if score.separates else ''}")
        if report.warns:
            print("\n- ".join(report.findings))
            print("What to do:")
            for item in report.advice:
                command = f" (tile with --long-side {item.long_side})" if item.long_side else ""
                print(f"- {item.text}{command}")
        else:
            print(f"No shortcut found: file properties alone get {report.accuracy['value']:.0%} of artworks right "
                  f"({report.evaluation}), close to the {report.chance:.0%} of always answering the largest class.")
    for skipped in report.skipped:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    return 1 if report.warns and args.strict else 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from artcnn.calibration import calibrate_model

    with TerminalBar() as bar:
        calibration = calibrate_model(Path(args.model), Path(args.data), error_rate=args.error_rate,
                                      split=args.split, progress=bar.update)
    print(f"an artwork is labelled with the one class whose probability reaches its threshold, and needs "
          f"review when none or several do; written into {args.model}")
    for name, count in calibration.counts.items():
        print(f"{name}: threshold p({name}) >= {calibration.thresholds[name]:.4f}; {count} calibration artworks, "
              f"{calibration.review_share[name]:.0%} to review, {calibration.error_share[name]:.1%} labelled wrong")
    return 0


def _default_of(function, parameter: str):
    """A stage function's own default, so that a flag never retypes it."""
    return inspect.signature(function).parameters[parameter].default


def build_parser() -> argparse.ArgumentParser:
    from artcnn.calibration import DEFAULT_ERROR_RATE, calibrate_model
    from artcnn.demo import make_demo_collection
    from artcnn.evaluation import evaluate_model
    from artcnn.shortcuts import check_shortcuts

    parser = argparse.ArgumentParser(
        prog="python -m artcnn",
        description="Sort artworks into made by hand (han) or by code (kom) with a retrainable CNN.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="write a small synthetic collection OUT/han, OUT/kom",
                               description="Write a small SYNTHETIC collection (generated, not real art).")
    demo.add_argument("out", help="folder to create")
    demo.add_argument("--per-class", type=int, default=_default_of(make_demo_collection, "per_class"),
                      help="artworks per class (default %(default)s)")
    demo.add_argument("--seed", type=int, default=_default_of(make_demo_collection, "seed"))
    demo.set_defaults(handler=cmd_demo)

    demo_model = commands.add_parser(
        "build-demo-model", help="build the shipped demo model (SYNTHETIC data) and its card OUT.md",
        description="Synthetic demo collection -> dataset -> a held-out run (for the card's test metrics) -> "
                    "the same recipe finalized on all tiles, saved to OUT (.keras or .h5), seeded and reproducible.")
    demo_model.add_argument("out", help="model file to write, e.g. models/demo.keras")
    demo_model.set_defaults(handler=cmd_build_demo_model)

    tile = commands.add_parser("tile", help="cut artworks into a train/test dataset of tiles",
                               description="Cut ARTWORKS/<class>/* into DATASET/{train,test}/<class>/ tiles, "
                                           "split by artwork.")
    tile.add_argument("artworks", help="folder with one sub-folder of artworks per class")
    tile.add_argument("dataset", help="dataset folder to create")
    defaults = TilingConfig()
    tile.add_argument("--tile-size", type=int, default=defaults.tile_size,
                      help="tile side in pixels (default %(default)s)")
    tile.add_argument("--tiles-per-artwork", type=int, default=defaults.tiles_per_artwork,
                      help="random tiles per artwork (default %(default)s)")
    tile.add_argument("--grid", action="store_true", help="cut a regular grid instead of random tiles")
    tile.add_argument("--blank-threshold", type=float, default=defaults.blank_threshold,
                      help="skip tiles whose grey-level std is below this (0-1, default %(default)s; 0 keeps all)")
    tile.add_argument("--test-fraction", type=float, default=defaults.test_fraction,
                      help="share of each class's artworks in the test split (default %(default)s)")
    tile.add_argument("--long-side", type=int, default=defaults.long_side,
                      help="resize artworks to this longest side before tiling (default: native size)")
    add_whole_view_flag(tile)
    tile.add_argument("--seed", type=int, default=defaults.seed)
    _add_image_limit_flags(tile)
    tile.add_argument("--overwrite", action="store_true", help="replace an existing dataset folder")
    tile.set_defaults(handler=cmd_tile)
    statistics = commands.add_parser(
        "statistics", help="measure a dataset's global statistics again (a dataset built by an earlier artcnn)",
        description="Read DATASET's artworks again where it found them and record their global statistics as "
                    "this artcnn measures them, keeping its tiles and split; without them a model trained on the "
                    "dataset judges by its tiles alone. Nothing is written if any artwork has moved or changed.")
    statistics.add_argument("dataset", help="a dataset folder")
    statistics.add_argument("--force", action="store_true",
                            help="measure them even if they look current (or the statistics file is damaged)")
    statistics.set_defaults(handler=cmd_statistics)
    add_training_commands(commands)

    evaluate = commands.add_parser("evaluate", help="print a model's metrics on a dataset",
                                   description="Evaluate MODEL on DATASET's test split: accuracy with 95% intervals, "
                                               "ROC AUC and the confusion matrix, or every figure with --json.")
    evaluate.add_argument("model", help=".keras or .h5 model file")
    evaluate.add_argument("dataset", help="dataset folder made by `tile`")
    evaluate.add_argument("--split", choices=("test", "train", "all"), default=_default_of(evaluate_model, "split"))
    evaluate.add_argument("--batch-size", type=int, default=_default_of(evaluate_model, "batch_size"),
                          help="tiles per batch (default %(default)s)")
    evaluate.add_argument("--json", action="store_true", help="print every figure (per source, each misclassified "
                                                              "artwork and its tiles) as JSON")
    evaluate.add_argument("--unsafe", action="store_true", help="allow Lambda layers (only for models you trust)")
    evaluate.set_defaults(handler=cmd_evaluate)

    classify = commands.add_parser("classify", help="classify whole artworks; writes a CSV",
                                   description="Classify artworks (files and/or folders, IIIF manifests) with MODEL.")
    classify.add_argument("model", help=".keras or .h5 model file")
    classify.add_argument("inputs", nargs="*", help="image files and/or folders (searched recursively)")
    classify.add_argument("--out", required=True, help="CSV file to write")
    predict_defaults = PredictConfig()
    classify.add_argument("--batch-size", type=int, default=predict_defaults.batch_size,
                          help="tiles per batch (default %(default)s)")
    classify.add_argument("--max-tiles", type=int, default=predict_defaults.max_tiles,
                          help="at most this many grid tiles per artwork, beside a whole view for models trained "
                               "with one (default %(default)s)")
    classify.add_argument("--read-workers", type=int, default=predict_defaults.read_workers,
                          help="threads reading and tiling files while the model scores (default: one per core)")
    _add_image_limit_flags(classify)
    classify.add_argument("--no-count", action="store_true", help="do not count the files first (huge folders)")
    classify.add_argument("--unsafe", action="store_true", help="allow Lambda layers (only for models you trust)")
    add_collection_flags(classify)
    classify.set_defaults(handler=cmd_classify)
    add_export_command(commands)
    add_collection_commands(commands)

    shortcuts = commands.add_parser(
        "shortcuts", help="check whether file properties alone (size, format, colour...) separate the classes",
        description="Fit a trivial classifier on per-artwork file properties only (no pixels' content) with "
                    "leave-one-source-out evaluation, and warn if it scores far above chance.")
    shortcuts.add_argument("data", help="artworks (one sub-folder per class) or a dataset folder")
    shortcuts.add_argument("--sources-csv", help="CSV with columns file, source (default: filename prefix before _)")
    shortcuts.add_argument("--seed", type=int, default=_default_of(check_shortcuts, "seed"))
    shortcuts.add_argument("--max-pixels", type=int, default=ImageLimits().max_pixels,
                           help="refuse images with more pixels than this (decompression bombs)")
    shortcuts.add_argument("--json", action="store_true", help="print the full report as JSON")
    shortcuts.add_argument("--strict", action="store_true", help="exit with status 1 when it warns (for scripts)")
    shortcuts.set_defaults(handler=cmd_shortcuts)

    calibrate = commands.add_parser(
        "calibrate", help="write per-class thresholds (when to say 'needs review') into a model",
        description="Split conformal calibration on held-out artworks: afterwards `classify` labels each "
                    "artwork with one of the model's classes or 'needs review', each class wrong at most "
                    "ERROR_RATE of the time for artworks like the calibration ones. The model file is "
                    "rewritten atomically.")
    calibrate.add_argument("model", help=".keras or .h5 model file (two or more classes)")
    calibrate.add_argument("data", help="a dataset folder (uses --split) or class sub-folders of held-out artworks")
    calibrate.add_argument("--error-rate", type=float, default=DEFAULT_ERROR_RATE,
                           help="allowed error rate per class (default %(default)s); a higher rate needs fewer "
                                "calibration artworks")
    calibrate.add_argument("--split", choices=("test", "train", "all"), default=_default_of(calibrate_model, "split"),
                           help="dataset split to calibrate on (default test: artworks the model did not train on)")
    calibrate.set_defaults(handler=cmd_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # The catalogue names who did the work: on the command line, the account running it.
        with acting_as(account_name()):
            return args.handler(args)
    except (ValueError, OSError) as error:  # OSError: a missing file, a full disk, a read-only folder...
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
