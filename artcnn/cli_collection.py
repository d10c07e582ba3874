"""The CLI's look at a collection through a model, and its corrections: `map` (a 2-D map of the artworks by the
model's embedding), `heatmap` (where the model looks in one artwork), `mistakes` (a finished run's top losses)
and `correct` (corrected artworks into a new version of a dataset)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from artcnn.config import PredictConfig
from artcnn.terminal import TerminalBar


def add_collection_commands(commands: argparse._SubParsersAction) -> None:
    add_map_command(commands)
    heatmap = commands.add_parser("heatmap", help="where the model looks in one artwork (Grad-CAM), as a picture",
                                  description="Grad-CAM of the model's last convolution on each tile of ARTWORK, "
                                              "stitched over it and written to --out (PNG or JPEG).")
    heatmap.add_argument("model", help=".keras or .h5 model file")
    heatmap.add_argument("artwork", help="one image file")
    heatmap.add_argument("--out", required=True, help="picture to write")
    heatmap.add_argument("--target", help="class whose evidence to map (default: the class of the model's verdict)")
    heatmap.set_defaults(handler=run_heatmap)
    mistakes = commands.add_parser("mistakes", help="a finished run's confusion matrix and most confident mistakes")
    mistakes.add_argument("run", help="run folder made by `train`")
    mistakes.add_argument("--top", type=int, default=10, help="mistakes to list (default %(default)s)")
    mistakes.set_defaults(handler=run_mistakes)
    correct = commands.add_parser(
        "correct", help="add corrected artworks to a new version of a dataset",
        description="Read CORRECTIONS (a CSV with columns file, label) and build DATASET again, with those artworks "
                    "under their classes, as a new dataset version (default: DATASET_v2, _v3...).")
    correct.add_argument("dataset", help="dataset folder made by `tile`")
    correct.add_argument("corrections", help="CSV with columns file, label (the right class)")
    correct.add_argument("--out", help="new dataset folder (default: the next _vN beside DATASET)")
    correct.set_defaults(handler=run_correct)


def add_map_command(commands: argparse._SubParsersAction) -> None:
    from artcnn.workspace import MAPS_FOLDER, root_from_env

    defaults = PredictConfig()
    command = commands.add_parser(
        "map", help="place artworks on a 2-D map by what the model sees; writes a CSV",
        description="Embed every artwork (the layer before the model's output, averaged over its tiles) and lay the "
                    "embeddings out in 2-D with UMAP (PCA for fewer than 15 artworks or without umap-learn). The map "
                    "is cached, so asking again for the same model and files is instant.")
    command.add_argument("model", help=".keras or .h5 model file")
    command.add_argument("inputs", nargs="+", help="image files and/or folders (searched recursively)")
    command.add_argument("--out", required=True, help="CSV to write: x, y, file, label, p_<class>...")
    command.add_argument("--cache", default=str(root_from_env() / MAPS_FOLDER),
                         help="folder of cached maps (default %(default)s)")
    command.add_argument("--method", choices=("umap", "pca"), default=None,
                         help="layout (default: umap from 15 artworks when installed, else pca)")
    command.add_argument("--batch-size", type=int, default=defaults.batch_size,
                         help="tiles per batch (default %(default)s)")
    command.add_argument("--max-tiles", type=int, default=defaults.max_tiles,
                         help="at most this many grid tiles per artwork, beside a whole view for models trained "
                              "with one (default %(default)s)")
    command.set_defaults(handler=run_map)


def run_map(args: argparse.Namespace) -> int:
    from artcnn.collection_map import collection_map

    config = PredictConfig(batch_size=args.batch_size, max_tiles=args.max_tiles)
    with TerminalBar() as bar:
        made = collection_map(Path(args.model), args.inputs, config, cache_dir=Path(args.cache), method=args.method,
                              progress=bar.update)
    made.table.to_csv(args.out, index=False, float_format="%.6f")
    for file, reason in made.errors.items():
        print(f"not on the map: {file}: {reason}")
    print(f"{len(made.table)} artworks mapped by {made.method}{' (from the cache)' if made.cached else ''}; "
          f"written to {args.out}")
    return 0


def run_heatmap(args: argparse.Namespace) -> int:
    from artcnn.gradcam import heat_map
    from artcnn.storage import load_model
    from artcnn.workspace import model_name, synthetic_warning

    model, metadata = load_model(Path(args.model))
    made = heat_map((model, metadata), Path(args.artwork), target=args.target)
    made.overlay.save(args.out)
    tiles = ", ".join(f"({x}, {y}) {made.target} {p[list(made.probabilities).index(made.target)]:.2f}"
                      for x, y, _, p in made.tile_boxes)
    print(f"where the model looks for {made.target} in {args.artwork}: {args.out}\ntiles: {tiles}")
    if metadata.get("synthetic"):
        print(f"warning: {synthetic_warning(model_name(args.model, metadata))}", file=sys.stderr)
    return 0


def run_mistakes(args: argparse.Namespace) -> int:
    from artcnn.mistakes import cell_counts, read_mistakes

    found = read_mistakes(Path(args.run))
    print("true \\ predicted: " + ", ".join(found.classes))
    for name, row in zip(found.classes, cell_counts(found)):
        print(f"{name}: {', '.join(str(n) for n in row)}")
    for mistake in found.top_losses[:args.top]:
        print(f"{mistake.artwork}: {mistake.true} taken for {mistake.predicted} (p {mistake.true} "
              f"{mistake.probabilities[mistake.true]:.3f}, loss {mistake.loss:.2f}, {len(mistake.tiles)} tiles)")
    return 0


def run_correct(args: argparse.Namespace) -> int:
    import pandas as pd

    from artcnn.corrections import add_corrections

    table = pd.read_csv(args.corrections, dtype=str)
    if not {"file", "label"} <= set(table.columns):
        raise ValueError(f"{args.corrections} needs the columns file, label. Received: columns={list(table.columns)}")
    with TerminalBar() as bar:
        built = add_corrections(Path(args.dataset), list(zip(table["file"], table["label"])), args.out,
                                progress=bar.update)
    print(f"{len(table)} corrected artworks added; new dataset version: {built.path}")
    return 0
