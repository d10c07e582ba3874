"""One saved model on real art: artwork accuracy per source, as files are and as 256-px thumbnails.

    python bench/model_on_real_art.py models/demo.keras --data ../shared/data/artworks

Classifies every artwork of the class folders with `prediction.classify` (whole artworks, grid tiles,
as the product does), once from the files and once from copies reduced to a `--small`-px long side,
and prints per source (filename prefix) the share whose verdict is their folder's class, with a 95%
Wilson interval, then the mean over sources and the worst one. An artwork marked "needs review" by a
calibrated model counts as not right. The last line is `model_mean_accuracy: <value>` (files as they are).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.unseen_artists import KINDS, per_source, reduced_copies, summary  # noqa: E402


def score(model: Path, artworks: Path, out: Path, small: int):
    """One row per artwork and kind: file, class, source, kind and p_<class> (a DataFrame), and the classes."""
    import pandas as pd

    from artcnn.folds import assign_sources
    from artcnn.prediction import classify
    from artcnn.storage import load_model
    from artcnn.dataset_build import class_folders

    loaded = load_model(model)
    classes = loaded[1]["classes"]
    rows = []
    for kind, root in ((KINDS[0], artworks), (KINDS[1], reduced_copies(artworks, out / f"small{small}", small))):
        for name, files in class_folders(root).items():
            for result in classify(loaded, files):
                if result.error is None:
                    verdict = {label: float(label == result.label) for label in classes}
                    rows.append({"artwork": result.file, "class": name, "kind": kind,
                                 **{f"p_{label}": value for label, value in verdict.items()}})
    table = pd.DataFrame(rows)
    table["source"] = table["artwork"].map(assign_sources(list(table["artwork"])))
    return table, classes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a .keras or .h5 model saved by artcnn")
    parser.add_argument("--data", type=Path, required=True, help="artworks folder with one sub-folder per class")
    parser.add_argument("--out", type=Path, default=common.OUT / "unseen", help="work folder (thumbnails)")
    parser.add_argument("--small", type=int, default=256, help="long side of the thumbnail copies")
    args = parser.parse_args(argv)

    table, classes = score(args.model, args.data.resolve(), args.out, args.small)
    results = per_source(table, classes)
    for kind in KINDS:
        for source, row in results[kind].items():
            print(f"{kind:13} {source:18} {row['class']:5} {common.percent_with_interval(row)}")
        mean, worst = summary(results[kind])
        print(f"{kind}: mean over sources {mean:.1%}, worst source {worst:.1%}")
    print(f"model_mean_accuracy: {summary(results[KINDS[0]])[0]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
