"""Global statistics of how an artwork was made, and the small model that reads a class from them.

Tiles show a CNN strokes up close; what separates code from hand across artists it has never seen is often
the whole picture's make-up: how many colours, how flat the fills, how straight the edges, how the detail
falls off with frequency, how much grain, how symmetric the whole and its finest detail are (code mirrors and
rotates exactly, a hand does not), how much of its variance each scale of detail holds, how many hues, how much
ink and paper. These are measured on a copy reduced to a `SIDE`-px long side, so a thumbnail and a full scan
give nearly the same figures and file size or resolution cannot decide, and again on that copy averaged down to a
`COARSE_SIDE`-px one, where a small JPEG's noise in flat fills and on clean edges is averaged away.
`StatisticsHead` is a multinomial logistic regression on them and on their squares (how far from the usual a
picture lies, either way), fitted with each class weighing the same, on
each training artwork as it is and as a thumbnail would show it (`thumbnail_statistics`: a small JPEG copy
flattens exactly the fills and grain the statistics read); a recipe's `statistics_weight` blends it into
every artwork's verdict with the mean of its tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import functools
import io

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import pandas as pd

# Long side in pixels of the copy the statistics are measured on.
SIDE = 256
# Scales in pixels of the 256-px copy whose detail (variance lost by halving the picture there) is measured.
DETAIL_SCALES = (1, 2, 4, 8)
# Saturation (0-1) from which a pixel counts as coloured, for the hue entropy and the saturated share.
SATURATED = 0.2
# Grey levels (0-1) below which a pixel counts as dark (ink, lines) and above which as light (paper, ground).
DARK, LIGHT = 0.3, 0.9
# The first statistics, all that models saved before the symmetry, detail, hue and tone statistics read (their
# heads name none).
FIRST_NAMES = (
    "log_colours", "top_colour_share", "top8_colour_share", "colour_entropy", "edge_share",
    *(f"edge_angle_{step * 180 // 8}" for step in range(8)), "axis_aligned_edges", "flat_share",
    "equal_neighbours", "spectrum_slope", "saturation_mean", "saturation_std", "grain", "grey_std",
)
# What is measured on each copy of the picture, in the order of its part of image_statistics's vector.
MEASURES = (
    *FIRST_NAMES, "mirror_left_right", "mirror_top_bottom", "half_turn", "best_symmetry",
    "fine_mirror_left_right", "fine_mirror_top_bottom", "fine_half_turn", "best_fine_symmetry",
    *(f"detail_{scale}px" for scale in DETAIL_SCALES), "hue_entropy", "saturated_share", "dark_share", "light_share",
)
# Long side in pixels of the coarse copy (the `SIDE`-px copy averaged down): on artists no model had seen, the
# coarse measures (with the penalties below set for them) raised the mean over sources as thumbnails by 1.8-2.8
# points (README, "Results on real art").
COARSE_SIDE = 64
# The statistics, in the order of image_statistics's vector: the measures on the SIDE-px copy, then on the coarse one.
NAMES = (*MEASURES, *(f"coarse_{name}" for name in MEASURES))
# JPEG quality of the thumbnail copy thumbnail_statistics measures (a common web thumbnail's).
THUMBNAIL_QUALITY = 90
# What a message about a dataset's missing or outdated statistics advises (statistics_update does the first).
MEASURE_AGAIN = ("Measure its statistics again (python -m artcnn statistics DATASET, or on the Datasets page) or "
                 "build the dataset again.")
# The views of an artwork whose statistics a dataset records (view_statistics): the artwork's file as it is
# (image_statistics), and as a collection's thumbnail would show it (thumbnail_statistics).
VIEWS = ("file", "thumbnail")
# Shortest side the statistics are measured on: a smaller picture is enlarged to it.
MIN_SIDE = 8
# A gradient (on the [0, 1] grey scale) counted as an edge.
EDGE = 0.1
# L2 penalty of the regression, in units of the (weighted) mean loss times the number of artworks. Halved (with the
# squares' below) once the head also learnt from synthetic pictures: on artists no model had seen, and on those it
# had, accuracy over all artworks rose a little and no source fell below 80%; a quarter sank the pencil drawings
# (README, "Results on real art").
PENALTY = 60.0
# The same for the coefficients of the squared statistics: far higher, so that only a picture far from the training
# artworks' usual tips the verdict by it. Without squares the mean over unseen sources was 1.5-1.7 points lower.
SQUARE_PENALTY = 1000.0
# Standardised statistics are clipped here before they are squared, so that one outlandish picture stays bounded.
SQUARE_CLIP = 5.0


def image_statistics(image: Image.Image) -> np.ndarray:
    """The `NAMES` statistics of `image` (any mode), as float64: its MEASURES on a `SIDE`-px long-side copy, then
    on that copy averaged down to a `COARSE_SIDE`-px one."""
    small = image.convert("RGB")
    small.thumbnail((SIDE, SIDE), Image.Resampling.BILINEAR)
    coarse = small.copy()
    coarse.thumbnail((COARSE_SIDE, COARSE_SIDE), Image.Resampling.BOX)
    return np.concatenate([_measures(small), _measures(coarse)])


def _measures(small: Image.Image) -> np.ndarray:
    """The `MEASURES` of an RGB copy of a picture."""
    if min(small.size) < MIN_SIDE:
        # A picture smaller than a tile is upscaled before cutting too; its statistics then say "flat".
        small = small.resize((max(small.width, MIN_SIDE), max(small.height, MIN_SIDE)), Image.Resampling.NEAREST)
    pixels = np.asarray(small)
    rgb = pixels.astype(np.float32) / 255
    # rgb.mean(axis=2) to the bit (its sum in its order), without numpy's slow reduction over a 3-long axis.
    grey = (rgb[..., 0] + rgb[..., 1] + rgb[..., 2]) / np.float32(3)

    # Colours quantised to 5 bits a channel.
    quantised = (pixels >> 3).astype(np.int32)
    counts = np.bincount((quantised[..., 0] * 1024 + quantised[..., 1] * 32 + quantised[..., 2]).ravel())
    shares = np.sort(counts[counts > 0])[::-1] / grey.size
    colours = [np.log(len(shares)), shares[0], shares[:8].sum(), -(shares * np.log(shares)).sum()]

    dx, dy = np.diff(grey, axis=1)[:-1], np.diff(grey, axis=0)[:, :-1]
    magnitude = np.hypot(dx, dy)
    edges = magnitude > EDGE
    angles = _angle_histogram(np.mod(np.arctan2(dy[edges], dx[edges]), np.pi), magnitude[edges])
    angles = angles / (angles.sum() + 1e-9)
    same = pixels[:, 1:] == pixels[:, :-1]
    shape = [edges.mean(), *angles, angles[0] + angles[4], (magnitude < 1 / 255).mean(),
             (same[..., 0] & same[..., 1] & same[..., 2]).mean()]

    # How the spectrum's amplitude falls with frequency: the slope of its radial mean, log-log.
    height, width = grey.shape
    radial = _radial_amplitude(grey - grey.mean())
    frequencies = np.arange(2, max(3, min(height, width) // 2))
    slope = np.polyfit(np.log(frequencies), np.log(radial[frequencies] + 1e-9), 1)[0]

    hsv = np.asarray(small.convert("HSV"))
    hue, saturation = (hsv[..., channel].astype(np.float32) / 255 for channel in (0, 1))
    # Grain: how far each pixel strays from the mean of its 3×3 neighbourhood.
    neighbourhood = sum(grey[r:height - 2 + r, c:width - 2 + c] for r in range(3) for c in range(3)) / 9
    fine = grey[1:-1, 1:-1] - neighbourhood
    grain = np.abs(fine).mean()
    coloured = saturation > SATURATED
    hues = np.bincount((hue[coloured] * 18).astype(int).clip(0, 17), minlength=18) / max(coloured.sum(), 1)
    hues = hues[hues > 0]
    # Symmetry of the whole and of its finest detail: a hand may draw a symmetric design, but only code repeats
    # its grain and edges exactly in the mirror.
    values = [*colours, *shape, slope, saturation.mean(), saturation.std(), grain, grey.std(), *_symmetries(grey),
              *_symmetries(fine), *_detail(grey), -(hues * np.log(hues)).sum(), coloured.mean(), (grey < DARK).mean(),
              (grey > LIGHT).mean()]
    return np.asarray(values, dtype=np.float64)


def _symmetries(picture: np.ndarray) -> list[float]:
    """How `picture` correlates with its left-right mirror, its top-bottom mirror and its half turn, and the best."""
    # A mirror has the picture's mean and spread: centre and measure it once.
    centred = picture - picture.mean()
    spread = float((centred * centred).sum()) + 1e-9
    found = [float((centred * mirror).sum()) / spread
             for mirror in (centred[:, ::-1], centred[::-1], centred[::-1, ::-1])]
    return [*found, max(found)]


def _detail(grey: np.ndarray) -> list[float]:
    """The share of `grey`'s variance lost at each of DETAIL_SCALES by averaging 2 × 2 pixels of the previous
    scale (0 where the picture is too small for the scale)."""
    total, level, shares = grey.var() + 1e-9, grey, []
    for _ in DETAIL_SCALES:
        height, width = level.shape[0] // 2 * 2, level.shape[1] // 2 * 2
        if height < 2 or width < 2:
            shares.append(0.0)
            continue
        blocks = level[:height, :width].reshape(height // 2, 2, width // 2, 2)
        coarse = blocks.mean(axis=(1, 3))
        shares.append(float(((blocks - coarse[:, None, :, None]) ** 2).mean() / total))
        level = coarse
    return shares


def _angle_histogram(angles: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """np.histogram(angles, 8, (0, π), weights=weights)[0] for angles in [0, π], by its own method (a first guess
    at each bin, put right against the bin edges in the angles' precision, then one bincount) without its checks,
    which cost more here."""
    bins = 8
    edges = np.linspace(0, np.pi, bins + 1).astype(angles.dtype)
    index = np.minimum((angles * (bins / np.pi)).astype(np.intp), bins - 1)
    index -= angles < edges[index]
    index += (angles >= edges[index + 1]) & (index != bins - 1)
    return np.bincount(index, weights, minlength=bins)


def _radial_amplitude(picture: np.ndarray) -> np.ndarray:
    """The mean amplitude of `picture`'s spectrum at each whole distance from its centre (fftshift's), from the
    real-input half of the spectrum (4 times faster than the whole): the other half mirrors it."""
    height, width = picture.shape
    half = np.abs(np.fft.rfft2(picture))
    direct, mirrored, counts = _radii(height, width)
    # Columns 1 to (width - 1) // 2 of the half stand for their mirror images in the other half too.
    return (np.bincount(direct, half.ravel(), minlength=len(counts))
            + np.bincount(mirrored, half[:, 1:(width + 1) // 2].ravel(), minlength=len(counts))) / counts


@functools.lru_cache(maxsize=16)
def _radii(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a height × width picture's rfft2: each element's whole distance from the centre of the whole shifted
    spectrum, the same for the mirror image of its columns 1 to (width - 1) // 2, and how many of the whole
    spectrum's elements lie at each distance."""
    rows, columns = np.arange(height), np.arange(width)
    # Frequency (row, column) lies at shifted position (row + height // 2, column + width // 2), modulo the size.
    radius = np.hypot(((rows + height // 2) % height - height / 2)[:, None],
                      (columns + width // 2) % width - width / 2).astype(int)
    direct = radius[:, :width // 2 + 1].ravel()
    # The mirror of frequency (row, column) is (-row, -column), modulo the size.
    mirrored = radius[(-rows % height)[:, None], width - columns[1:(width + 1) // 2]].ravel()
    counts = np.maximum(np.bincount(radius.ravel()), 1)
    # Shared by every call of this size: read only.
    direct.flags.writeable = mirrored.flags.writeable = counts.flags.writeable = False
    return direct, mirrored, counts


def thumbnail_statistics(image: Image.Image) -> np.ndarray:
    """image_statistics of `image` as a thumbnail: reduced to a `SIDE`-px long side (Lanczos) and saved as a JPEG
    of quality `THUMBNAIL_QUALITY`, the way a collection's web thumbnails are often made."""
    small = image.convert("RGB")
    small.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    encoded = io.BytesIO()
    small.save(encoded, format="JPEG", quality=THUMBNAIL_QUALITY)
    encoded.seek(0)
    with Image.open(encoded) as thumbnail:
        return image_statistics(thumbnail)


def view_statistics(image: Image.Image) -> dict[str, np.ndarray]:
    """What a dataset records of one artwork, per view (`VIEWS`): the file as it is, and its thumbnail."""
    return dict(zip(VIEWS, (image_statistics(image), thumbnail_statistics(image))))


@dataclass(frozen=True)
class StatisticsHead:
    """A fitted multinomial logistic regression from `NAMES` statistics (and their squares) to class probabilities."""

    # Class names, in the model's order.
    classes: tuple[str, ...]
    # Share of the statistics in an artwork's verdict (the rest is the mean of its tiles).
    weight: float
    # Standardisation: each statistic's mean and scale over the training artworks.
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    # [len(names) + 1, classes] coefficients, the last row the intercepts; with `squares`, [2 × len(names) + 1,
    # classes], the squares' rows after the statistics'.
    coefficients: tuple[tuple[float, ...], ...]
    # The statistics it reads, a selection of NAMES in their order (a head saved before some existed reads fewer).
    names: tuple[str, ...] = NAMES
    # It also reads each standardised statistic's square (clipped at SQUARE_CLIP); heads saved before did not.
    squares: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.weight <= 1.0:
            raise ValueError(f"weight must be in (0, 1]. Received: weight={self.weight}")
        unknown = [name for name in self.names if name not in NAMES]
        if unknown:
            raise ValueError(f"a statistics head reads statistics of image_statistics.NAMES. Received: names with "
                             f"{', '.join(unknown)}")
        rows = len(self.names) * (2 if self.squares else 1) + 1
        if len(self.mean) != len(self.names) or np.shape(self.coefficients) != (rows, len(self.classes)):
            raise ValueError(f"a statistics head on {len(self.names)} statistics{' and their squares' * self.squares} "
                             f"needs as many means and {rows} rows of one column per class. Received: "
                             f"{len(self.mean)} means, coefficients of shape {np.shape(self.coefficients)}")

    def probabilities(self, statistics: Any) -> np.ndarray:
        """[n, classes] probabilities for [n, len(NAMES)] statistics (image_statistics's vectors)."""
        chosen = np.asarray(statistics, dtype=np.float64)[:, [NAMES.index(name) for name in self.names]]
        return _softmax(_design(chosen, self.mean, self.scale, self.squares) @ np.asarray(self.coefficients))

    def blend(self, tile_means: Any, statistics: Any) -> np.ndarray:
        """The verdict's probabilities: (1 - weight) × the tiles' mean + weight × the statistics'."""
        return (1 - self.weight) * np.asarray(tile_means, dtype=np.float64) + self.weight * self.probabilities(statistics)

    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "weight": self.weight, "names": list(self.names),
                "mean": list(self.mean), "scale": list(self.scale),
                "coefficients": [list(row) for row in self.coefficients], "squares": self.squares}

    @classmethod
    def from_metadata(cls, metadata: dict) -> "StatisticsHead | None":
        """The head a model's metadata carries under "statistics", or None for a model without one."""
        saved = metadata.get("statistics")
        if not saved:
            return None
        return cls(classes=tuple(saved["classes"]), weight=float(saved["weight"]), mean=tuple(saved["mean"]),
                   scale=tuple(saved["scale"]), coefficients=tuple(tuple(row) for row in saved["coefficients"]),
                   names=tuple(saved.get("names", FIRST_NAMES)), squares=bool(saved.get("squares", False)))


def fit_head(statistics: Any, labels: Sequence[int], classes: Sequence[str], weight: float,
             iterations: int = 30) -> StatisticsHead:
    """A StatisticsHead (with squares) fitted by Newton's method on [n, len(NAMES)] `statistics` of artworks with
    class indices `labels`; every class weighs the same in the fit, however many artworks it has."""
    statistics = np.asarray(statistics, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if statistics.ndim != 2 or statistics.shape[1] != len(NAMES) or len(statistics) != len(labels):
        raise ValueError(f"statistics must be [n, {len(NAMES)}] with one label per row. "
                         f"Received: statistics of shape {statistics.shape}, {len(labels)} labels")
    present = np.unique(labels)
    if len(present) < 2 or present.min() < 0 or present.max() >= len(classes):
        raise ValueError(f"fitting needs artworks of at least two of the classes {', '.join(classes)}. "
                         f"Received: class indices {present.tolist()}")
    mean, spread = statistics.mean(axis=0), statistics.std(axis=0)
    # A statistic (nearly) constant over the training artworks gets no say: scaled by 1, its coefficient stays 0.
    scale = np.where(spread > 1e-6, spread, 1.0)
    design = _design(statistics, mean, scale, squares=True)
    targets = np.eye(len(classes))[labels]
    sample_weights = 1.0 / np.bincount(labels, minlength=len(classes))[labels]
    sample_weights /= sample_weights.sum()
    features, k = design.shape[1], len(classes)
    # Intercepts are barely penalised: only enough to pin the softmax's free shift.
    penalty = np.tile(np.r_[np.full(len(NAMES), PENALTY / len(labels)), np.full(len(NAMES), SQUARE_PENALTY / len(labels)),
                            1e-6], k)
    beta = np.zeros(features * k)
    for _ in range(iterations):
        probabilities = _softmax(design @ beta.reshape(k, features).T)
        gradient = (design.T @ (sample_weights[:, None] * (probabilities - targets))).T.ravel() + penalty * beta
        hessian = np.empty((k * features, k * features))
        for a in range(k):
            for b in range(k):
                curvature = sample_weights * probabilities[:, a] * ((a == b) - probabilities[:, b])
                hessian[a * features:(a + 1) * features, b * features:(b + 1) * features] = \
                    design.T @ (curvature[:, None] * design)
        step = np.linalg.solve(hessian + np.diag(penalty), gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    coefficients = beta.reshape(k, features).T
    return StatisticsHead(classes=tuple(classes), weight=weight, mean=tuple(mean.tolist()),
                          scale=tuple(scale.tolist()), coefficients=tuple(tuple(row) for row in coefficients.tolist()),
                          squares=True)


def head_for_artworks(views: "dict[str, pd.DataFrame] | None", rows: "pd.DataFrame", classes: Sequence[str],
                      weight: float) -> StatisticsHead | None:
    """A head fitted on the artworks of manifest `rows` (columns artwork, class), each once per view of a dataset's
    statistics (dataset.read_statistics: the files, and their thumbnails when recorded); None when `weight` is 0,
    the dataset has no statistics (built before them) or the rows hold one class only (a cross-validation fold
    can: the head would have nothing to tell apart)."""
    artworks = rows.drop_duplicates("artwork")
    if weight == 0 or not views or artworks["class"].nunique() < 2:
        return None
    labels = artworks["class"].map({name: index for index, name in enumerate(classes)}).to_numpy()
    statistics = np.concatenate([statistics_of(table, artworks["artwork"]) for table in views.values()])
    return fit_head(statistics, np.tile(labels, len(views)), classes, weight)


def picture_statistics(measured: "dict[str, dict[str, np.ndarray]]") -> "dict[str, pd.DataFrame]":
    """Synthetic pictures' statistics, {view: {picture name: view_statistics vector}}, as tables in the format of
    dataset.read_statistics's views, indexed by picture name."""
    import pandas as pd

    return {view: pd.DataFrame.from_dict(values, orient="index", columns=list(NAMES)).rename_axis("artwork")
            for view, values in measured.items()}


def with_pictures(views: "dict[str, pd.DataFrame] | None", rows: "pd.DataFrame",
                  pictures: "Iterable[tuple[str, dict[str, pd.DataFrame]]]"
                  ) -> "tuple[dict[str, pd.DataFrame] | None, pd.DataFrame]":
    """A dataset's statistics `views` and training manifest `rows` (artwork, class) with synthetic pictures added
    for head_for_artworks: `pictures` as (class, picture_statistics tables) pairs; unchanged without pictures or
    without the dataset's statistics."""
    import pandas as pd

    pictures = [(name, tables) for name, tables in pictures if len(tables["file"])]
    if not pictures or not views:
        return views, rows
    added = [pd.DataFrame({"artwork": tables["file"].index, "class": name}) for name, tables in pictures]
    return ({view: pd.concat([table, *(tables[view] for _, tables in pictures)]) for view, table in views.items()},
            pd.concat([rows[["artwork", "class"]], *added], ignore_index=True))


def statistics_of(view: "pd.DataFrame", artworks: Sequence[str]) -> np.ndarray:
    """The [n, len(NAMES)] rows of `artworks` in one view of dataset.read_statistics, or a ValueError naming the
    first artwork it lacks."""
    missing = sorted(set(artworks) - set(view.index))
    if missing:
        raise ValueError(f"the dataset's statistics lack {len(missing)} artwork(s), e.g. {missing[0]}. {MEASURE_AGAIN}")
    return view.loc[list(artworks)].to_numpy()


def _design(statistics: Any, mean: Sequence[float], scale: Sequence[float], squares: bool) -> np.ndarray:
    standardised = (np.asarray(statistics, dtype=np.float64) - np.asarray(mean)) / np.asarray(scale)
    extra = [np.clip(standardised, -SQUARE_CLIP, SQUARE_CLIP) ** 2] if squares else []
    return np.c_[(standardised, *extra, np.ones(len(standardised)))]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
