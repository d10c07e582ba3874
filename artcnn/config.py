"""Typed, frozen configuration for every stage.

Page widgets and CLI flags only build these objects; the stages read them. Each
config validates itself on construction so that a bad value fails where it was
given, with the value in the message.
"""

from __future__ import annotations

import dataclasses
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping

from artcnn.models import list_recipes

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
DEFAULT_DECODE_PIXELS = 60_000_000


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class ImageLimits:
    """What an input image may be before we refuse or shrink it."""

    # Images with more pixels than this (by their header) are refused as decompression bombs.
    # The default is where Pillow's own guard raises DecompressionBombError (2 × 89,478,485):
    # a 20000×20000 header is refused, a 150-Mpixel scan is still read.
    max_pixels: int = 178_956_970
    # Larger images are reduced on decode (JPEG draft, then resampling) to at most this many
    # pixels, so an ordinary 50-Mpixel scan is read without holding 50 M RGB pixels per stage.
    # None: DEFAULT_DECODE_PIXELS, or max_pixels if that is lower.
    decode_pixels: int | None = None

    def __post_init__(self) -> None:
        _check(self.max_pixels > 0, f"max_pixels must be positive. Received: max_pixels={self.max_pixels}")
        if self.decode_pixels is None:
            # Frozen: the resolved default is set once, here, so lowering max_pixels alone is enough.
            object.__setattr__(self, "decode_pixels", min(DEFAULT_DECODE_PIXELS, self.max_pixels))
        _check(
            0 < self.decode_pixels <= self.max_pixels,
            "decode_pixels must be positive and at most max_pixels. "
            f"Received: decode_pixels={self.decode_pixels}, max_pixels={self.max_pixels}",
        )


@dataclass(frozen=True)
class TilingConfig:
    """How artworks are cut into tiles, for training datasets and for prediction alike."""

    # Side of a square tile in pixels (the study used 256).
    tile_size: int = 256
    # Random tiles cut per artwork; ignored when grid is True. 4 (the study cut 10): every leave-sources-out figure
    # of `default` was measured with 4, and with 10 its worst unseen source fell from 74-77% to 49% (one seed, README).
    tiles_per_artwork: int = 4
    # Cut a regular grid covering the artwork instead of random positions.
    grid: bool = False
    # Tiles whose grey-level standard deviation (0-1 scale) is below this are skipped as blank.
    # 0 keeps every tile.
    blank_threshold: float = 0.02
    # Share of each class's artworks (not tiles) that goes to the test split.
    test_fraction: float = 0.3
    # Seed for tile positions and the split.
    seed: int = 0
    # Resize every artwork so its longest side is this many pixels before tiling; None keeps
    # native resolution. Normalising scale stops a model from learning image size instead of content.
    long_side: int | None = None
    # Decode limits for every artwork read.
    limits: ImageLimits = field(default_factory=ImageLimits)
    # Add one tile showing the whole artwork (reduced until its short side is tile_size, the centre square), so the
    # model also learns and scores an artwork at the scale of a thumbnail, not only its details. On by default: on
    # artists no model has seen it raised the worst source most (README, "Results on real art").
    whole_view: bool = True

    def __post_init__(self) -> None:
        _check(self.tile_size >= 8, f"tile_size must be at least 8. Received: tile_size={self.tile_size}")
        _check(
            self.tiles_per_artwork >= 1,
            f"tiles_per_artwork must be at least 1. Received: tiles_per_artwork={self.tiles_per_artwork}",
        )
        _check(
            0.0 <= self.blank_threshold < 0.5,
            f"blank_threshold must be in [0, 0.5). Received: blank_threshold={self.blank_threshold}",
        )
        _check(
            0.0 <= self.test_fraction < 1.0,
            f"test_fraction must be in [0, 1). Received: test_fraction={self.test_fraction}",
        )
        _check(
            self.long_side is None or self.long_side >= self.tile_size,
            "long_side must be None or at least tile_size. "
            f"Received: long_side={self.long_side}, tile_size={self.tile_size}",
        )


@dataclass(frozen=True)
class TrainConfig:
    """One training run. None means: take the recipe's own value."""

    # Registered model recipe (models.list_recipes): default, seed (the study's one-block VGG), vgg2, vgg3, vgg16.
    recipe: str = "default"
    # Side in pixels of the model's square input; None: the recipe's (tests and quick trials use smaller).
    input_size: int | None = None
    # Epochs to train.
    epochs: int | None = None
    # Training batch size (the study: 64).
    batch_size: int | None = None
    # Evaluation batch size (the study: 32).
    test_batch_size: int | None = None
    # Optimizer learning rate.
    learning_rate: float | None = None
    # Use the recipe's dropout layers (the study's switch).
    dropout: bool = True
    # Use the recipe's training augmentation (the study's rotation switch).
    augment: bool = True
    # Stop when val_loss has not improved for this many epochs; None trains all epochs.
    early_stopping: int | None = None
    # Seed for weights, shuffling and augmentation.
    seed: int = 0
    # vgg16 base weights: "imagenet" (Keras' cache, or a download when online), a local weights
    # file path, or None for random initialisation (tests, or training from scratch).
    weights: str | None = "imagenet"
    # Compute in bfloat16 with float32 weights (Keras "mixed_bfloat16"; the output layer stays float32).
    # Faster on CPUs with bfloat16 instructions (AVX512-BF16, AMX); numbers differ slightly from float32.
    mixed_precision: bool = False
    # The algorithmic-art prior: synthetic tiles from artcnn.prior's generative techniques added to the
    # training tiles, this many per tile of prior_class that the fit trains on; 0 adds none.
    prior_ratio: float = 0.0
    # The class the prior's synthetic tiles are added to; it must be one of the dataset's classes.
    prior_class: str = "kom"
    # Resample the training tiles (seeded) so every source of a class gives it as many tiles as the others,
    # the total unchanged (artcnn.balance); the prior's synthetic tiles are left as they are.
    balance_sources: bool = False
    # Share of the artwork's global statistics (colours, flatness, edges, spectrum, grain) in its verdict,
    # the rest the mean of its tiles; 0: tiles alone; None: the recipe's (default 0.9, seed 0).
    statistics_weight: float | None = None
    # The hand-drawn counterpart (artcnn.counterpart): synthetic line drawings added to drawn_class's training,
    # this many per artwork of that class that the fit trains on; None: the recipe's (default 0.25, seed 0).
    drawn_ratio: float | None = None
    # The class the drawings are added to. When the dataset has no such class, a recipe's own ratio adds none;
    # a drawn_ratio set here is refused instead.
    drawn_class: str = "han"

    def __post_init__(self) -> None:
        recipes = list_recipes()
        _check(self.recipe in recipes, f"recipe must be one of {', '.join(recipes)}. Received: recipe={self.recipe!r}")
        _check(self.input_size is None or self.input_size >= 32,
               f"input_size must be at least 32. Received: input_size={self.input_size}")
        for name in ("epochs", "batch_size", "test_batch_size", "early_stopping"):
            value = getattr(self, name)
            _check(value is None or value >= 1, f"{name} must be at least 1. Received: {name}={value}")
        _check(
            self.learning_rate is None or self.learning_rate > 0,
            f"learning_rate must be positive. Received: learning_rate={self.learning_rate}",
        )
        _check(self.statistics_weight is None or 0.0 <= self.statistics_weight <= 1.0,
               f"statistics_weight must be in [0, 1]. Received: statistics_weight={self.statistics_weight}")
        _check(self.prior_ratio >= 0, f"prior_ratio must be at least 0. Received: prior_ratio={self.prior_ratio}")
        _check(bool(self.prior_class), f"prior_class must name a class. Received: prior_class={self.prior_class!r}")
        _check(self.drawn_ratio is None or self.drawn_ratio >= 0,
               f"drawn_ratio must be at least 0. Received: drawn_ratio={self.drawn_ratio}")
        _check(bool(self.drawn_class), f"drawn_class must name a class. Received: drawn_class={self.drawn_class!r}")


@dataclass(frozen=True)
class CrossvalConfig:
    """A leave-sources-out evaluation (artcnn.crossval): tiling of a collection, training of each fold, folds."""

    # Training of every fold, the algorithmic-art prior included.
    train: TrainConfig = field(default_factory=TrainConfig)
    # How a folder of artworks is tiled first (a dataset folder is used as it is). Every tile is used
    # by some fold, so the split's test_fraction is ignored.
    tiling: TilingConfig = field(default_factory=TilingConfig)
    # At most this many folds, each leaving out a group of sources; None: one fold per source.
    max_folds: int | None = None
    # CSV with columns file (or artwork) and source; None: each file's name prefix before "_".
    sources_csv: str | None = None

    def __post_init__(self) -> None:
        _check(self.max_folds is None or self.max_folds >= 2,
               f"max_folds must be at least 2. Received: max_folds={self.max_folds}")


# Where PredictConfig's classification runs.
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class PredictConfig:
    """How a collection is classified."""

    # Tiles per prediction batch.
    batch_size: int = 64
    # Artworks whose winning probability is below this are marked low confidence on the page.
    low_confidence: float = 0.7
    # Decode limits for every artwork read.
    limits: ImageLimits = field(default_factory=ImageLimits)
    # Cap on tiles per artwork: a huge scan is covered by an evenly spread subset of its grid.
    max_tiles: int = 256
    # Threads reading, decoding, hashing and tiling files while the model scores; 0: one per core.
    read_workers: int = 0
    # Files read ahead of the one whose tiles are being batched: bounds memory (each file in flight holds its
    # tiles, at most max_tiles of them) while keeping the readers busy.
    read_ahead: int = 8
    # Where the work runs: "local" (this process, read_workers threads) or "ray" (Ray Data: files read by Ray
    # tasks, tiles scored by ray_actors model actors; pip install -r requirements-ray.txt).
    engine: str = "local"
    # The Ray cluster for engine "ray" (e.g. "ray://head:10001"); None: RAY_ADDRESS, else a Ray started here.
    ray_address: str | None = None
    # Model actors for engine "ray", each loading the model once; on a cluster, about one per node.
    ray_actors: int = 1

    def __post_init__(self) -> None:
        _check(self.batch_size >= 1, f"batch_size must be at least 1. Received: batch_size={self.batch_size}")
        _check(self.engine in ENGINES, f"engine must be one of {', '.join(ENGINES)}. Received: engine={self.engine!r}")
        _check(self.ray_actors >= 1, f"ray_actors must be at least 1. Received: ray_actors={self.ray_actors}")
        _check(self.max_tiles >= 1, f"max_tiles must be at least 1. Received: max_tiles={self.max_tiles}")
        _check(self.read_workers >= 0, f"read_workers must be 0 (one per core) or more. "
                                       f"Received: read_workers={self.read_workers}")
        _check(self.read_ahead >= 1, f"read_ahead must be at least 1. Received: read_ahead={self.read_ahead}")
        _check(
            0.0 <= self.low_confidence <= 1.0,
            f"low_confidence must be in [0, 1]. Received: low_confidence={self.low_confidence}",
        )


_NAME_PATTERN = re.compile(r"[\w][\w .()+-]{0,63}")


def whole_number_from_env(variable: str, environ: Mapping[str, str] | None, meaning: str) -> int | None:
    """The whole number 0 or more that the environment variable `variable` holds (of `environ`, default
    os.environ); None when it is unset or blank. `meaning` completes the error: "{variable} must be {meaning}"."""
    text = (os.environ if environ is None else environ).get(variable, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{variable} must be {meaning}. Received: {variable}={text!r}")
    return int(text)


def validate_name(name: str, what: str = "name") -> str:
    """A class, dataset or run name that is safe as one folder name inside the workspace."""
    # Checked in NFC so that accented names as macOS writes them (a letter, then a combining
    # accent) pass like their composed form; the name itself is returned as given, as on disk.
    composed = unicodedata.normalize("NFC", name) if isinstance(name, str) else ""
    _check(
        bool(_NAME_PATTERN.fullmatch(composed)) and not composed.endswith((" ", ".")),
        f"{what} must be 1-64 letters, digits, spaces or . _ ( ) + - and start with a letter or digit "
        f"(no slashes, no '..'). Received: {what}={name!r}",
    )
    return name


def to_dict(config: Any) -> dict:
    """A JSON-ready dict of any config above."""
    return dataclasses.asdict(config)


def tiling_from_dict(data: Mapping[str, Any]) -> "TilingConfig":
    """The TilingConfig of saved settings (a dataset's, a model's); settings saved before whole views existed
    had none."""
    return from_dict(TilingConfig, {"whole_view": False, **data})


def from_dict(cls: type, data: dict) -> Any:
    """Rebuild a config from `to_dict` output, ignoring keys this version does not know."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key == "limits" and isinstance(value, dict):
            value = from_dict(ImageLimits, value)
        kwargs[key] = value
    return cls(**kwargs)
