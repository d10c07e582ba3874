"""Synthetic pictures for trying artcnn without a collection, numpy and Pillow only.

One module a family: `canvas` (palettes and canvases every family shares), `generative` (the
demo's `kom` class: what code draws), `algorithmic` (more of it, for the algorithmic-art prior),
`handmade` (the demo's `han` class: what a hand draws), `drawn` (hand-drawn line art on white, the
hand-made counterpart real training adds, artcnn.counterpart) and `photo` (a third class for tests with
more than two). Every family draws its palettes, backgrounds and sizes from the same distributions,
so only how the marks are made tells the classes apart.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from artcnn.synthetic.algorithmic import PRIOR_TECHNIQUES
from artcnn.synthetic.canvas import Technique
from artcnn.synthetic.drawn import DRAWN_TECHNIQUES
from artcnn.synthetic.generative import KOM_TECHNIQUES
from artcnn.synthetic.handmade import HAN_TECHNIQUES
from artcnn.synthetic.photo import PHOTO_TECHNIQUES

# Each class of synthetic pictures and its techniques; the order numbers the classes for seeding,
# so a class draws the same artworks whichever others come with it.
CLASS_TECHNIQUES: dict[str, dict[str, Technique]] = {
    "han": HAN_TECHNIQUES,
    "kom": KOM_TECHNIQUES,
    "photo": PHOTO_TECHNIQUES,
}
# What each class's pictures are, in the words READMEs and model cards use.
CLASS_DESCRIPTIONS: dict[str, str] = {
    "han": "simulated hand work: brush strokes, pen hatching, watercolour washes, scribbles, "
           "with jitter, varying pressure, paper grain and smudges",
    "kom": "generative techniques: flow fields, Truchet tiles, circle packing, recursive subdivision",
    "photo": "photograph-like pictures: smooth skies and out-of-focus lights under a lens vignette and sensor noise",
}

__all__ = ["CLASS_DESCRIPTIONS", "CLASS_TECHNIQUES", "DRAWN_TECHNIQUES", "HAN_TECHNIQUES", "KOM_TECHNIQUES", "PHOTO_TECHNIQUES",
           "PRIOR_TECHNIQUES", "Technique", "generate", "generate_han", "generate_kom"]


def generate(class_name: str, rng: np.random.Generator, width: int, height: int,
             technique: str | None = None) -> Image.Image:
    """One synthetic picture of `class_name` (an RGB image); technique None picks one at random."""
    if class_name not in CLASS_TECHNIQUES:
        raise ValueError(f"class_name must be one of {', '.join(CLASS_TECHNIQUES)}. Received: class_name={class_name!r}")
    if width < 16 or height < 16:
        raise ValueError(f"width and height must be at least 16. Received: width={width}, height={height}")
    techniques = CLASS_TECHNIQUES[class_name]
    if technique is None:
        technique = list(techniques)[int(rng.integers(len(techniques)))]
    if technique not in techniques:
        raise ValueError(f"{class_name} technique must be one of {', '.join(techniques)}. "
                         f"Received: technique={technique!r}")
    return techniques[technique](rng, width, height)


def generate_kom(rng: np.random.Generator, width: int, height: int, technique: str | None = None) -> Image.Image:
    """One synthetic artwork made by code: `generate("kom", ...)`."""
    return generate("kom", rng, width, height, technique)


def generate_han(rng: np.random.Generator, width: int, height: int, technique: str | None = None) -> Image.Image:
    """One synthetic artwork imitating hand work: `generate("han", ...)`."""
    return generate("han", rng, width, height, technique)
