"""Artists the model has never seen: leave-one-source-out accuracy of `seed` and `default` on real art.

    python bench/unseen_artists.py --data ../shared/data/artworks

Tiles the artworks as the study did (256-px tiles, 10 per artwork at seeded random places), then
for each variant runs artcnn.crossval.cross_validate: every generative source is left out in turn
(the model trains on the other sources and is tested on it), and the hand-made class, which has a
single source, is scored on a held-out part in each fold. Writes bench/results/unseen_artists.md:
artwork-level accuracy per source with 95% Wilson intervals, and the time each variant took.
Finished variants are kept in bench/out/unseen/<variant>.json and reused when rerun with the same
settings. The last line printed is `default_worst_left_out_accuracy: <value>`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artcnn.config import TilingConfig, TrainConfig, to_dict  # noqa: E402
from bench import common  # noqa: E402
from bench.reproduce_study import prepare_dataset  # noqa: E402

RESULTS = common.ROOT / "bench" / "results" / "unseen_artists.md"


@dataclass(frozen=True)
class Variant:
    # What is trained, in a few words.
    description: str
    # The recipe and its settings.
    train: TrainConfig
    # Synthetic kom tiles from artcnn.prior per real kom tile (TrainConfig.prior_ratio); 0 for none.
    prior_ratio: float = 0.0


VARIANTS = {
    "seed": Variant("the study's one-block VGG (SGD, 200 px, 20 epochs)", TrainConfig(recipe="seed")),
    "default": Variant("artcnn `default` (5 conv blocks with batch norm, Adam, 128 px, 30 epochs)",
                       TrainConfig(recipe="default")),
    "default + prior": Variant("`default` with one synthetic generative tile (artcnn.demo) per two real kom tiles",
                               TrainConfig(recipe="default"), prior_ratio=0.5),
}


def _settings(variant: Variant, dataset: Path) -> dict:
    return json.loads(json.dumps({"train": to_dict(variant.train), "prior_ratio": variant.prior_ratio,
                                  "dataset": str(dataset)}))


def run_variant(name: str, variant: Variant, dataset: Path, out: Path, log: Callable[[str], None]) -> dict:
    """cross_validate's result for `variant`, from out/<name>.json when it was run with the same settings."""
    from artcnn.crossval import cross_validate
    from artcnn.storage import atomic_write_json

    saved = out / f"{name.replace(' ', '_').replace('+', 'plus')}.json"
    settings = _settings(variant, dataset)
    if saved.is_file():
        result = json.loads(saved.read_text())
        if result.get("settings") == settings:
            log(f"{name}: reusing {saved}")
            return result
    log(f"{name}: training ...")

    def progress(event) -> None:
        step = event.payload  # artcnn.fitting.TrainingStep during a fold's fit
        if getattr(step, "epoch_end", False):
            # cross_validate prefixes each fold's events with "fold 2/5 (left out: <sources>)".
            log(f"  {name}: {event.message.split(' · ')[0]}, epoch {step.epoch + 1}/{step.epochs}")

    config = dataclasses.replace(variant.train, prior_ratio=variant.prior_ratio)
    result, wall, cpu = common.measured(lambda: cross_validate(dataset, config, progress=progress))
    result["settings"], result["seconds"], result["cpu_seconds"] = settings, round(wall, 1), round(cpu, 1)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(saved, result)
    return result


def run(artworks: Path, out: Path, variants: list[str], *, tile_size: int = 256,
        log: Callable[[str], None] = print) -> dict[str, dict]:
    """Tile `artworks` into out/dataset (reused when already cut the same way), then each variant's result."""
    dataset = out / "dataset"
    prepare_dataset(Path(artworks).resolve(), dataset,
                    TilingConfig(tile_size=tile_size, tiles_per_artwork=10, test_fraction=0.0), log)
    return {name: run_variant(name, VARIANTS[name], dataset, out, log) for name in variants}


def render_table(results: dict[str, dict], machine: str, command: str) -> str:
    """unseen_artists.md: one row per variant, one column per source."""
    sources = sorted({source for result in results.values() for source in result["sources"]})
    first = next(iter(results.values()))
    roles = {source: first["sources"][source] for source in sources}
    tiling = first["tiling"]
    lines = [
        "# Artists the model has never seen",
        "",
        f"Measured by `{command}` on {machine}.",
        "",
        f"{tiling['tile_size']}-px tiles, {tiling['tiles_per_artwork']} per artwork at seeded random places. "
        "Each generative source is left out in turn: the model trains on all other artworks and is tested on "
        "that source's. The hand-made class has one source, so it cannot be left out whole; its artworks are "
        "split into one part per fold, each tested by the fold that did not train on it. Accuracy is per "
        "artwork (mean of its tile probabilities), in percent, with the 95% Wilson interval and the count.",
        "",
        "| variant | " + " | ".join(f"{source} ({roles[source]['class']}, {roles[source]['role']})" for source in sources)
        + " | time (wall; CPU) |",
        "| --- |" + " --- |" * len(sources) + " ---: |",
    ]
    for name, result in results.items():
        cells = [common.percent_with_interval(result["sources"][source]) for source in sources]
        lines.append(f"| {name}: {VARIANTS[name].description} | " + " | ".join(cells)
                     + f" | {common.duration(result['seconds'])}; {common.duration(result['cpu_seconds'])} |")
    return "\n".join(lines) + "\n"


def worst_left_out(result: dict) -> float:
    return min(row["value"] for row in result["sources"].values() if row["role"] == "left out")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="artworks folder with one sub-folder per class")
    parser.add_argument("--out", type=Path, default=common.OUT / "unseen", help="work folder (tiles, results)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["seed", "default"])
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the table (markdown)")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    results = run(args.data, args.out, args.variants, log=log)
    command = "python bench/unseen_artists.py " + " ".join(sys.argv[1:] if argv is None else argv)
    table = render_table(results, common.machine(), command)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(table, encoding="utf-8")
    print(table)
    print(f"table written to {args.results}")
    if "default" in results:
        print(f"default_worst_left_out_accuracy: {worst_left_out(results['default']):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
