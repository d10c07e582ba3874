"""Synthetic pictures the statistics head learns from beside a fit's artworks, never cut into tiles.

On artists no model had seen (README, "Results on real art"), the head called a third of the pencil and ink
drawings code, for the hatching in black on white the generative line artists draw too, and as thumbnails it
missed a fifth of two generative sources. Pen-and-ink drawings (synthetic.drawn.ink_drawing) on the hand-made
side and pictures of the algorithmic-art prior's techniques (synthetic.PRIOR_TECHNIQUES) on the code side, each
measured as a file and as a thumbnail, raised both sources over 80% without lowering the mean. They join the head
only: the CNN's drawings stay those of artcnn.counterpart.

A fit gets the recipe's head_drawn_ratio drawings per artwork of TrainConfig.drawn_class and head_prior_ratio
pictures per artwork of TrainConfig.prior_class among the artworks it trains on; picture i of a kind depends on
the seed and i only, so cross-validation makes them once for all its folds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from artcnn.progress import ProgressCallback, emit

if TYPE_CHECKING:
    import pandas as pd
    from PIL import Image

# How a picture is named where artworks are (statistics tables): never a real artwork's path.
NAME = "synthetic {kind} {index:05d}"


@dataclass(frozen=True)
class HeadExamples:
    """The synthetic pictures of one fit, as statistics rows for the head, per class."""

    # {class: {view: statistics rows indexed by picture name}}, each view in the format of dataset.read_statistics.
    statistics: "dict[str, dict[str, pd.DataFrame]]"
    # {class: pictures per artwork of that class that the fit trains on}.
    ratios: dict[str, float]

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(views["file"]) for name, views in self.statistics.items()}

    @property
    def description(self) -> str:
        """The pictures in words, for a model's description: "" for none."""
        parts = [f"{count} in class {name}" for name, count in self.counts.items() if count]
        return f"synthetic pictures for its statistics head alone ({', '.join(parts)})" if parts else ""

    def for_rows(self, rows: "pd.DataFrame") -> "HeadExamples":
        """The pictures a fit on manifest `rows` (artwork, class) of the same dataset gets: the first of each kind."""
        from artcnn.counterpart import count_per_artwork
        from artcnn.fitting import check_enough

        wanted = {name: count_per_artwork(rows, ratio, name) for name, ratio in self.ratios.items()}
        for name, count in wanted.items():
            check_enough(self.counts[name], count, f"synthetic pictures of class {name}")
        return HeadExamples({name: {view: table.iloc[:wanted[name]] for view, table in views.items()}
                             for name, views in self.statistics.items()}, self.ratios)

    def added_to(self, views: "dict[str, pd.DataFrame] | None",
                 rows: "pd.DataFrame") -> "tuple[dict[str, pd.DataFrame] | None, pd.DataFrame]":
        """A dataset's statistics `views` and training rows (artwork, class) with the pictures added, for
        image_statistics.head_for_artworks; unchanged without the dataset's statistics."""
        from artcnn.image_statistics import with_pictures

        return with_pictures(views, rows, self.statistics.items())


def head_examples(rows: "pd.DataFrame", tile_size: int, kinds: "dict[str, tuple[float, Kind]]", *, seed: int = 0,
                  progress: ProgressCallback | None = None) -> HeadExamples:
    """For each class of `kinds` ({class: (ratio, kind)}: INK_DRAWING, GENERATIVE), `ratio` pictures of that kind
    per artwork of the class among `rows` (counterpart.count_per_artwork), as large as the counterpart's drawings
    (counterpart.DRAWN_SIDES tiles a side), exported as works are (prior.exported), with the statistics of each view (image_statistics.view_statistics)."""
    from artcnn.counterpart import DRAWN_SIDES, count_per_artwork
    from artcnn.image_statistics import VIEWS, picture_statistics, view_statistics
    from artcnn.prior import exported

    statistics = {}
    wanted = {name: count_per_artwork(rows, ratio, name) for name, (ratio, _) in kinds.items()}
    done, total = 0, sum(wanted.values())
    emit(progress, "synthetic pictures", 0, total, "synthetic pictures for the statistics head")
    for name, (_, kind) in kinds.items():
        measured: dict[str, dict[str, np.ndarray]] = {view: {} for view in VIEWS}
        for index in range(wanted[name]):
            rng = np.random.default_rng([seed, kind.stream, index])
            width, height = (int(side * tile_size) for side in rng.uniform(*DRAWN_SIDES, 2))
            picture = exported(kind.draw(rng, index, width, height), rng)
            for view, values in view_statistics(picture).items():
                measured[view][NAME.format(kind=kind.name, index=index)] = values
            done += 1
            emit(progress, "synthetic pictures", done, total, f"{kind.name} {index + 1}")
        statistics[name] = picture_statistics(measured)
    return HeadExamples(statistics, {name: ratio for name, (ratio, _) in kinds.items()})


@dataclass(frozen=True)
class Kind:
    """A kind of synthetic picture for the head."""

    # Its name in the pictures' names.
    name: str
    # Keeps the kinds' random streams apart.
    stream: int
    # draw(rng, index, width, height) -> the picture as drawn, before export.
    draw: Callable[[np.random.Generator, int, int, int], "Image.Image"]


def _ink(rng: np.random.Generator, index: int, width: int, height: int) -> "Image.Image":
    from artcnn.synthetic.drawn import ink_drawing

    return ink_drawing(rng, width, height)


def _generative(rng: np.random.Generator, index: int, width: int, height: int) -> "Image.Image":
    from artcnn.prior import prior_picture
    from artcnn.synthetic import PRIOR_TECHNIQUES

    techniques = sorted(PRIOR_TECHNIQUES)
    return prior_picture(techniques[index % len(techniques)], rng, width, height)


# The two kinds: scanned pen-and-ink drawings for the hand-made class, the prior's techniques for the code class.
INK_DRAWING = Kind("ink drawing", 1, _ink)
GENERATIVE = Kind("generative picture", 2, _generative)
