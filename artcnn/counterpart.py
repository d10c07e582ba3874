"""The hand-drawn counterpart: synthetic line drawings (artcnn.synthetic.drawn) added to the hand-made class
of a fit's training, as artworks: their tiles and their global statistics.

Hand-made work that is clean lines on white (pencil studies, doodles drawn with a mouse) looks like code
output to the tiles and to the global statistics alike when nothing of the kind is in training: on the dev
set's leave-sources-out folds such sources were 0-9% right whatever else was tried, and these drawings on the
hand-made side moved them most (README, "Results on real art").

Each drawing is saved as its technique's works reach a collection (a sketch through JPEG once, as a scan; a mouse
doodle losslessly, as a paint program's PNG: synthetic.drawn.SAVED_LOSSLESS) and cut the way the dataset's artworks
were (its TilingConfig), as the prior's pictures are (prior.exported_tiles); its statistics, as a file and as a
thumbnail, join the statistics head's training. A fit gets `drawn_ratio` drawings per artwork of the class among
the artworks it trains on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from artcnn.progress import ProgressCallback, emit

if TYPE_CHECKING:
    import pandas as pd

# Sides of a drawing, in tiles: 256-px tiles come from 300-1000 px drawings, the size of the dev set's drawings.
DRAWN_SIDES = (1.2, 4.0)
# How a drawing is named where artworks are (statistics tables, file names): never a real artwork's path.
DRAWING_NAME = "synthetic drawing {index:05d}"


@dataclass(frozen=True)
class Counterpart:
    """The drawings of one fit: what it adds to the tiles and to the statistics head's artworks."""

    # The class the drawings are added to.
    class_name: str
    # Drawings per artwork of that class that the fit trains on.
    ratio: float
    # Each drawing's tiles, PNG files.
    drawing_files: tuple[tuple[str, ...], ...]
    # {view: statistics rows indexed by drawing name}, in the format of dataset.read_statistics.
    statistics: "dict[str, pd.DataFrame]"

    @property
    def drawings(self) -> int:
        return len(self.drawing_files)

    @property
    def files(self) -> tuple[str, ...]:
        """All the drawings' tiles."""
        return tuple(file for files in self.drawing_files for file in files)

    def for_rows(self, rows: "pd.DataFrame") -> "Counterpart":
        """The drawings a fit on manifest `rows` of the same dataset gets: the first count_per_artwork(rows, ...) of
        these (drawing i depends on the seed and i only), so cross-validation draws them once for all its folds."""
        from artcnn.fitting import check_enough

        wanted = count_per_artwork(rows, self.ratio, self.class_name)
        check_enough(self.drawings, wanted, "drawings")
        return Counterpart(self.class_name, self.ratio, self.drawing_files[:wanted],
                           {view: table.iloc[:wanted] for view, table in self.statistics.items()})


def count_per_artwork(rows: "pd.DataFrame", ratio: float, class_name: str) -> int:
    """How many synthetic pictures `ratio` asks for (drawings here, the head's pictures in artcnn.head_examples):
    that many per artwork of `class_name` among manifest `rows` (artwork, class), the artworks a fit trains on, so a
    cross-validation fold gets as many per artwork as a final model."""
    if ratio < 0:
        raise ValueError(f"ratio must be at least 0. Received: ratio={ratio}")
    artworks = rows.drop_duplicates("artwork")
    return round(ratio * int((artworks["class"] == class_name).sum()))


def drawn_counterpart(info: Any, rows: "pd.DataFrame", folder: str | os.PathLike, ratio: float, *,
                      class_name: str = "han", seed: int = 0, progress: ProgressCallback | None = None) -> Counterpart:
    """`count_per_artwork(rows, ratio, class_name)` drawings for a fit on manifest `rows` of dataset `info`,
    alternating the techniques of artcnn.synthetic.drawn, cut with the dataset's tiling into PNG tiles in `folder`.
    Drawing i depends on `seed` and i only: a fit with fewer artworks gets the first of another's drawings."""
    from artcnn.image_statistics import VIEWS, picture_statistics, view_statistics
    from artcnn.prior import exported_tiles
    from artcnn.synthetic.drawn import DRAWN_TECHNIQUES, SAVED_LOSSLESS

    if class_name not in info.classes:
        raise ValueError(f"the hand-drawn counterpart adds drawings to class {class_name}, but dataset "
                         f"{info.path.name} has no such class (classes: {', '.join(info.classes)}). "
                         f"Received: class_name={class_name!r}")
    wanted = count_per_artwork(rows, ratio, class_name)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    techniques = sorted(DRAWN_TECHNIQUES)
    drawing_files: list[tuple[str, ...]] = []
    measured: dict[str, dict[str, np.ndarray]] = {view: {} for view in VIEWS}
    emit(progress, "counterpart", 0, wanted, f"synthetic {class_name} drawings")
    for index in range(wanted):
        rng = np.random.default_rng([seed, index])
        technique = techniques[index % len(techniques)]
        width, height = (int(side * info.tiling.tile_size) for side in rng.uniform(*DRAWN_SIDES, 2))
        drawing, tiles = exported_tiles(DRAWN_TECHNIQUES[technique](rng, width, height), info.tiling, rng,
                                        folder / f"drawing_{index:05d}", lossless=technique in SAVED_LOSSLESS)
        drawing_files.append(tuple(tiles))
        name = DRAWING_NAME.format(index=index)
        for view, values in view_statistics(drawing).items():
            measured[view][name] = values
        emit(progress, "counterpart", index + 1, wanted, f"{technique} {index + 1}")
    return Counterpart(class_name, ratio, tuple(drawing_files), picture_statistics(measured))


def with_drawings(views: "dict[str, pd.DataFrame] | None", rows: "pd.DataFrame",
                  counterpart: Counterpart | None) -> "tuple[dict[str, pd.DataFrame] | None, pd.DataFrame]":
    """A dataset's statistics `views` and training manifest `rows` (artwork, class) with the drawings added, for
    image_statistics.head_for_artworks; unchanged without drawings or without the dataset's statistics."""
    from artcnn.image_statistics import with_pictures

    return with_pictures(views, rows, [] if counterpart is None else [(counterpart.class_name, counterpart.statistics)])
