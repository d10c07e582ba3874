"""The demo model shipped in models/: trained on the synthetic demo so that the Classify page works on
the very first start, with a card that says what it knows (the synthetic demo only) and how it was made.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from artcnn.config import TilingConfig, TrainConfig
from artcnn.dataset import Dataset
from artcnn.demo import DEMO_TILING, build_demo_dataset
from artcnn.progress import ProgressCallback
from artcnn.synthetic import CLASS_DESCRIPTIONS

# The shipped demo model: our compact recipe, seeded, long enough to learn the synthetic demo. Its verdict is the
# tiles' alone: a statistics head fitted on synthetic pictures made it worse on real art (models/demo.md).
DEMO_TRAINING = TrainConfig(recipe="default", epochs=20, seed=0, weights=None, statistics_weight=0.0)


def build_demo_model(
    out: Path,
    *,
    per_class: int = 24,
    seed: int = 0,
    tiling: TilingConfig = DEMO_TILING,
    training: TrainConfig = DEMO_TRAINING,
    progress: ProgressCallback | None = None,
) -> dict:
    """The model shipped in models/: synthetic collection → dataset → a run on its train split
    (for honest test metrics) → the same recipe finalized on all tiles, saved to `out` without
    optimizer state (small), with a card `out.with_suffix(".md")`. Returns the run's test metrics.

    Every stage reports to `progress` under its own name (demo, tiling, training, finalizing).
    Turns on TensorFlow's op determinism for the rest of the process, so that a rebuild on the
    same machine and software gives the same weights.
    """
    out = Path(out)
    if out.suffix.lower() not in (".keras", ".h5"):
        raise ValueError(f"A model file must end in .keras or .h5. Received: out={out}")
    if not out.parent.is_dir():
        raise ValueError(f"the folder for {out.name} does not exist: {out.parent}")
    if tiling.test_fraction <= 0:
        raise ValueError("tiling.test_fraction must be above 0: the card reports the held-out run's test metrics. "
                         f"Received: test_fraction={tiling.test_fraction}")
    import tensorflow as tf

    from artcnn.storage import atomic_write_text, load_model, save_model
    from artcnn.training import finalize, train

    # Seeds alone leave thread scheduling free to reorder float sums and the augmentation's random
    # draws; this makes the same command give the same weights (for this whole process, a CLI command).
    tf.config.experimental.enable_op_determinism()
    with tempfile.TemporaryDirectory(prefix="artcnn-demo-") as work:
        work = Path(work)
        report = build_demo_dataset(work / "collection", work / "dataset", tiling, per_class=per_class, seed=seed,
                                    progress=progress)
        metrics = train(work / "dataset", work / "run", training, progress=progress).metrics
        finalize(work / "dataset", work / "final.keras", training, progress=progress)
        # Loading uncompiled drops the optimizer's state, which would triple the file for nothing.
        model, metadata = load_model(work / "final.keras")
        description = (f"{training.recipe} recipe finalized on the SYNTHETIC demo (artcnn.demo, {per_class} artworks "
                       f"per class, seed {seed}); it knows the synthetic demo only, not real art. See {out.stem}.md.")
        save_model(model, out, {**metadata, "description": description})
    atomic_write_text(out.with_suffix(".md"), _demo_card(out, report, metrics, per_class, seed, tiling, training))
    return metrics


def _recipe_notes(training: TrainConfig) -> tuple[str, str]:
    """The card's lines on what the recipe adds to training (synthetic drawings) and to the verdict (statistics)."""
    from artcnn.models import resolve_recipe

    recipe = resolve_recipe(training)
    drawings = (f"\n   Its training adds {recipe.drawn_ratio:g} synthetic hand drawing per `{training.drawn_class}` "
                f"artwork (line art on white, `artcnn.synthetic.drawn`, added by `artcnn.counterpart`)."
                if recipe.drawn_ratio else "")
    weight = recipe.statistics_weight
    verdict = (f"\n   Its verdict on an artwork: {weight:.0%} a logistic head on the artwork's global statistics "
               f"(`artcnn.image_statistics`, fitted on the same synthetic artworks), {1 - weight:.0%} the mean of its "
               f"tiles." if weight else "")
    return drawings, verdict


def _percent(accuracy: dict) -> str:
    return (f"{accuracy['value']:.1%} | {accuracy['low']:.1%}–{accuracy['high']:.1%} | "
            f"{accuracy['correct']}/{accuracy['total']}")


def _demo_card(out: Path, report: Dataset, metrics: dict, per_class: int, seed: int,
               tiling: TilingConfig, training: TrainConfig) -> str:
    counts = "; ".join(f"{split}: " + ", ".join(f"{name} {report.counts[split][name]} tiles from "
                                                 f"{report.artworks[split][name]} artworks" for name in report.classes)
                       for split in report.counts)
    classes = ", ".join(report.classes)
    described = "; ".join(f"`{name}` {CLASS_DESCRIPTIONS[name]}" for name in report.classes)
    confusion = metrics["artwork_confusion"]
    drawings, verdict = _recipe_notes(training)
    whole = " and a whole view" if tiling.whole_view else ""
    confusion_rows = "\n".join(f"| {name} | " + " | ".join(str(n) for n in confusion[i]) + " |"
                               for i, name in enumerate(report.classes))
    # The card is written whole on every build: figures on real art measured for an earlier build would
    # describe another model, so a new card says they are still to be measured.
    return f"""# {out.name}: the synthetic demo model

**On real art: not measured for this build.** Every earlier demo build got most real paintings wrong. Measure
this one (`python bench/model_on_real_art.py {out.as_posix()} --data ARTWORKS`, per source, from the files and from
thumbnails) and write its figures here, in plain words, before it ships.

**What it knows:** telling apart the classes of artcnn's SYNTHETIC demo collection ({classes}):
{described}; all generated by `artcnn.synthetic`. It has never seen real art, and its verdict on a
real artwork means nothing. It ships so that the Classify page works on the very first start; train
your own model on your own collection for real use.

## How it was made

`python -m artcnn build-demo-model {out.as_posix()}` (`artcnn.demo_model.build_demo_model`), reproducible from its seeds:

1. Synthetic collection: `make_demo_collection(per_class={per_class}, seed={seed})`.
2. Dataset: {tiling.tile_size}-px tiles, {tiling.tiles_per_artwork} random tiles per artwork{whole}, blank threshold
   {tiling.blank_threshold}, {tiling.test_fraction:.0%} of each class's artworks held out for test (seed {tiling.seed}).
   {counts}.
3. A run of the `{training.recipe}` recipe ({training.epochs} epochs, seed {training.seed}) on the train split,
   evaluated on the held-out test split: the metrics below.{drawings}
4. The same recipe trained again on all tiles (`finalize`): this is the shipped model, saved without
   optimizer state. Its metadata carries classes, tiling and `synthetic: true`.{verdict}

## Test metrics of the run (step 3), on held-out synthetic artworks

| level | accuracy | 95% interval (Wilson) | correct |
| --- | --- | --- | --- |
| tiles | {_percent(metrics["tile_accuracy"])} |
| artworks | {_percent(metrics["artwork_accuracy"])} |

Artwork confusion (rows: true class, columns: predicted {classes}):

| true | {" | ".join(report.classes)} |
| --- | {" | ".join("---" for _ in report.classes)} |
{confusion_rows}

The shipped model of step 4 was also trained on those test artworks, so these figures describe the
recipe on this synthetic data, not an independent test of the shipped file.
"""
