"""The CLI's training commands, `train`, `finalize` and `crossval`: the TrainConfig flags they share, and
each turning its flags into a config for one stage function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from artcnn.config import TilingConfig, TrainConfig
from artcnn.terminal import TerminalBar, headline


def add_whole_view_flag(command: argparse.ArgumentParser) -> None:
    """--whole-view / --no-whole-view, for every command that tiles artworks."""
    command.add_argument("--whole-view", action=argparse.BooleanOptionalAction, default=TilingConfig().whole_view,
                         help="also cut one tile of the whole artwork, reduced to the tile's size (default: "
                              "%(default)s)")


def add_training_commands(commands) -> None:
    """Add train, finalize and crossval to the CLI's sub-command parsers."""
    tiling = TilingConfig()
    for name, handler, target, help_text in (
        # Stored as args.run_dir, shown as "run" in usage.
        ("train", cmd_train, "run_dir", "train a model on a dataset; leaves RUN/model.keras"),
        ("finalize", cmd_finalize, "model_out", "refit on train+test together and save (.keras or .h5)"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("dataset", help="dataset folder made by `tile`")
        command.add_argument(target, metavar=target.removesuffix("_dir"),
                             help="run folder" if name == "train" else "model file to write")
        _add_training_flags(command, validation=True)
        if name == "train":
            command.add_argument("--resume", action="store_true", help="continue an interrupted run from its "
                                                                       "last complete epoch")
        command.set_defaults(handler=handler)

    crossval = commands.add_parser(
        "crossval", help="leave-one-source-out evaluation: accuracy on artists the model never saw",
        description="Train on all sources but one and test on the one left out, for every source of a class "
                    "with others; a class with one source is scored on a held-out part in every fold. DATA is a "
                    "folder of class sub-folders (tiled first) or a dataset folder made by `tile`.")
    crossval.add_argument("data", help="artworks (one sub-folder per class) or a dataset folder")
    crossval.add_argument("--sources-csv", help="CSV with columns file, source (default: filename prefix before _)")
    _add_training_flags(crossval, validation=False)
    crossval.add_argument("--max-folds", type=int, help="group the left-out sources into at most this many folds "
                                                        "(default: one fold per source)")
    crossval.add_argument("--tile-size", type=int, default=tiling.tile_size)
    crossval.add_argument("--tiles-per-artwork", type=int, default=tiling.tiles_per_artwork)
    crossval.add_argument("--blank-threshold", type=float, default=tiling.blank_threshold)
    crossval.add_argument("--long-side", type=int, default=tiling.long_side,
                          help="resize artworks to this longest side before tiling (default: native size)")
    add_whole_view_flag(crossval)
    crossval.add_argument("--work", help="tile into this new folder and keep it; pass it as DATA next time to skip "
                                         "tiling (default: a temporary folder)")
    crossval.add_argument("--out", help="write the full result as JSON to this file")
    crossval.set_defaults(handler=cmd_crossval)


def _add_training_flags(command: argparse.ArgumentParser, *, validation: bool) -> None:
    """The TrainConfig flags, each stored under its field's name and None unless given (a resumed run
    takes what was not given from its own config.json); `validation` adds those that need a test split."""
    from artcnn.models import recipe_descriptions

    defaults, descriptions = TrainConfig(), recipe_descriptions()
    command.add_argument("--recipe", choices=list(descriptions),
                         help="; ".join(f"{name}: {text}" for name, text in descriptions.items())
                              + f" (default {defaults.recipe})")
    command.add_argument("--input-size", type=int, help="side of the model's input in pixels (default: the recipe's)")
    command.add_argument("--epochs", type=int, help="epochs (default: the recipe's; with --resume: train on to this)")
    command.add_argument("--batch-size", type=int, help="training batch size (default: the recipe's)")
    command.add_argument("--learning-rate", type=float, help="learning rate (default: the recipe's)")
    command.add_argument("--no-dropout", dest="dropout", action="store_const", const=False,
                         help="remove the recipe's dropout layers")
    command.add_argument("--no-augment", dest="augment", action="store_const", const=False,
                         help="no training augmentation")
    command.add_argument("--seed", type=int, help=f"seed for weights, shuffling, augmentation (default {defaults.seed})")
    command.add_argument("--weights", help=f"vgg16 base weights: imagenet (Keras cache or download), a local .h5 "
                                           f"file, or none (random); default {defaults.weights}")
    command.add_argument("--mixed-precision", action="store_const", const=True,
                         help="compute in bfloat16 (faster on CPUs with bfloat16 instructions)")
    command.add_argument("--prior-ratio", type=float,
                         help="the algorithmic-art prior: add synthetic tiles from our generators, this many per "
                              f"tile of --prior-class (e.g. 0.5; default {defaults.prior_ratio:g}, none)")
    command.add_argument("--prior-class", help=f"the class the prior's tiles are added to (default "
                                               f"{defaults.prior_class})")
    command.add_argument("--drawn-ratio", type=float,
                         help="synthetic hand drawings (line art on white: mouse doodles, pencil sketches) added to "
                              "--drawn-class, this many per artwork of it that the fit trains on; 0: none (default: the "
                              "recipe's)")
    command.add_argument("--drawn-class", help=f"the class the drawings are added to (default {defaults.drawn_class})")
    command.add_argument("--balance-sources", action="store_const", const=True,
                         help="resample the training tiles so every source (filename prefix) of a class gives as "
                              "many tiles as the others, the total unchanged")
    command.add_argument("--statistics-weight", type=float,
                         help="share of the artwork's global statistics (colours, flatness, edges, spectrum, grain) "
                              "in its verdict, the rest the mean of its tiles; 0: tiles alone (default: the "
                              "recipe's)")
    if validation:
        command.add_argument("--test-batch-size", type=int, help="evaluation batch size (default: the recipe's)")
        command.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                             help="stop after PATIENCE epochs without val_loss improvement")


def _given_training(args: argparse.Namespace) -> dict:
    """The TrainConfig fields given on the command line (flags left out are None)."""
    import dataclasses

    given = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)
             if getattr(args, field.name, None) is not None}
    if given.get("weights") == "none":
        given["weights"] = None
    return given


def _train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**_given_training(args))


def _resume_config(args: argparse.Namespace) -> TrainConfig:
    """The run's own settings from its config.json (flags given must match them; --epochs may extend it)."""
    from artcnn.models import resolve_recipe
    from artcnn.run_folder import read_run
    from artcnn.training import resume_config

    config = resume_config(Path(args.run_dir), _given_training(args))
    recorded, wanted = read_run(Path(args.run_dir))["config"]["recipe"]["epochs"], resolve_recipe(config).epochs
    extending = f"; extending it from {recorded} to {wanted} epochs" if wanted != recorded else ""
    print(f"resuming {args.run_dir} with the settings it was started with (its config.json){extending}")
    return config


def cmd_train(args: argparse.Namespace) -> int:
    from artcnn.training import train

    config = _resume_config(args) if args.resume else _train_config(args)
    with TerminalBar() as bar:
        result = train(Path(args.dataset), Path(args.run_dir), config, progress=bar.update, resume=args.resume)
    if result.state != "finished":
        print(f"training {result.state} after {len(result.history)} epochs; continue with --resume", file=sys.stderr)
        return 1
    print(headline(result.metrics))
    print(f"model saved to {result.model_path}")
    return 0


def cmd_finalize(args: argparse.Namespace) -> int:
    from artcnn.training import finalize

    with TerminalBar() as bar:
        path = finalize(Path(args.dataset), Path(args.model_out), _train_config(args), progress=bar.update)
    print(f"final model (trained on train+test) saved to {path}")
    return 0


def cmd_crossval(args: argparse.Namespace) -> int:
    from artcnn.config import CrossvalConfig
    from artcnn.crossval import format_table, run_crossval

    tiling = TilingConfig(tile_size=args.tile_size, tiles_per_artwork=args.tiles_per_artwork,
                          blank_threshold=args.blank_threshold, long_side=args.long_side, whole_view=args.whole_view,
                          seed=_train_config(args).seed)
    config = CrossvalConfig(train=_train_config(args), tiling=tiling, max_folds=args.max_folds,
                            sources_csv=args.sources_csv)
    with TerminalBar() as bar:
        result = run_crossval(Path(args.data), config, work=args.work, out=args.out, progress=bar.update)
    print(f"leave-one-source-out, recipe {result['recipe']['name']}, {result['recipe']['epochs']} epochs, "
          f"{len(result['folds'])} folds; artwork-level accuracy per source:")
    print(format_table(result))
    if args.out:
        print(f"details (every fold, every artwork's out-of-fold probabilities) in {args.out}")
    return 0
