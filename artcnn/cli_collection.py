"""The CLI's look at a collection through a model: `map` (a 2-D map of the artworks by the model's embedding)."""

from __future__ import annotations

import argparse
from pathlib import Path

from artcnn.config import PredictConfig
from artcnn.terminal import TerminalBar

# Where `map` keeps its maps when --cache is not given, inside the workspace.
MAPS_FOLDER = "maps"


def add_map_command(commands: argparse._SubParsersAction) -> None:
    from artcnn.workspace import root_from_env

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
                         help="at most this many grid tiles per artwork (default %(default)s)")
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
