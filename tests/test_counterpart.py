"""The hand-drawn counterpart on a tiny generated dataset (32-px tiles): synthetic drawings join a fit's
training tiles and its statistics head."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from builders import generated_dataset

from artcnn import data, fitting
from artcnn.config import TrainConfig
from artcnn.counterpart import DRAWING_NAME, count_per_artwork, drawn_counterpart, with_drawings
from artcnn.dataset import read_statistics


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """han: 4 artworks, kom: 6, two 32-px tiles each."""
    return data.read_dataset(generated_dataset(tmp_path_factory.mktemp("counterpart"), han=4, kom=6))


def test_drawings_are_cut_like_the_dataset_with_statistics_of_both_views(dataset, tmp_path):
    events = []
    drawn = drawn_counterpart(dataset, dataset.manifest, tmp_path / "drawn", 1.5, seed=3, progress=events.append)
    # 1.5 drawings per han artwork (4), each cut into the dataset's 2 tiles.
    assert drawn.class_name == "han" and drawn.drawings == count_per_artwork(dataset.manifest, 1.5, "han") == 6
    assert len(drawn.files) == 12 and all(Image.open(file).size == (32, 32) for file in drawn.files)
    assert set(drawn.statistics) == {"file", "thumbnail"}
    assert list(drawn.statistics["file"].index) == [DRAWING_NAME.format(index=index) for index in range(6)]
    assert list(drawn.statistics["file"].columns) == list(read_statistics(dataset)["file"].columns)
    assert {event.what for event in events} == {"counterpart"} and events[-1].done == events[-1].total == 6
    again = drawn_counterpart(dataset, dataset.manifest, tmp_path / "again", 1.5, seed=3)
    assert [Image.open(a).tobytes() for a in drawn.files] == [Image.open(b).tobytes() for b in again.files]
    assert drawn.statistics["file"].equals(again.statistics["file"])


def test_doodles_are_kept_lossless_and_sketches_pass_through_jpeg(dataset, tmp_path):
    from artcnn.synthetic.drawn import DRAWN_TECHNIQUES, SAVED_LOSSLESS

    drawn = drawn_counterpart(dataset, dataset.manifest, tmp_path / "drawn", 1.0, seed=5)
    techniques = sorted(DRAWN_TECHNIQUES)
    assert SAVED_LOSSLESS == {"mouse doodle"}
    for index, files in enumerate(drawn.drawing_files):
        colours = {len(np.unique(np.asarray(Image.open(file)).reshape(-1, 3), axis=0)) for file in files}
        # A doodle is one ink on one paper; a sketch's graphite grain and JPEG give many tones.
        if techniques[index % len(techniques)] in SAVED_LOSSLESS:
            assert max(colours) <= 2
        else:
            assert min(colours) > 2


def test_the_count_comes_from_the_rows_a_fit_trains_on_and_fewer_get_the_first_drawings(dataset, tmp_path):
    artworks = sorted(dataset.manifest.loc[dataset.manifest["class"] == "han", "artwork"].unique())
    fold = dataset.manifest[dataset.manifest["artwork"] != artworks[0]]
    assert count_per_artwork(fold, 1.5, "han") == round(1.5 * 3) == 4
    whole = drawn_counterpart(dataset, dataset.manifest, tmp_path / "whole", 1.5, seed=3)
    fewer = drawn_counterpart(dataset, fold, tmp_path / "fold", 1.5, seed=3)
    assert fewer.drawings == 4 and whole.statistics["file"].head(4).equals(fewer.statistics["file"])
    assert [Image.open(a).tobytes() for a in fewer.files] == [Image.open(b).tobytes() for b in whole.files[:8]]
    # Drawn once for the whole dataset, a fold takes the same first drawings.
    taken = whole.for_rows(fold)
    assert taken.drawing_files == whole.drawing_files[:4] and taken.files == whole.files[:8]
    assert taken.statistics["thumbnail"].equals(fewer.statistics["thumbnail"])
    with pytest.raises(ValueError, match="fewer than a fit on the rows given gets. Received: rows asking for 6"):
        fewer.for_rows(dataset.manifest)


def test_a_missing_class_or_negative_ratio_is_refused(dataset, tmp_path):
    with pytest.raises(ValueError, match=r"has no such class \(classes: han, kom\). Received: class_name='ink'"):
        drawn_counterpart(dataset, dataset.manifest, tmp_path, 1.0, class_name="ink")
    with pytest.raises(ValueError, match="ratio must be at least 0. Received: ratio=-1"):
        drawn_counterpart(dataset, dataset.manifest, tmp_path, -1)


def test_the_drawings_join_the_statistics_heads_artworks_as_their_class(dataset, tmp_path):
    drawn = drawn_counterpart(dataset, dataset.manifest, tmp_path, 1.0)
    views, rows = read_statistics(dataset), dataset.manifest
    joined, joined_rows = with_drawings(views, rows, drawn)
    assert len(joined_rows) == len(rows) + 4 and set(joined_rows.tail(4)["class"]) == {"han"}
    assert all(len(joined[view]) == len(views[view]) + 4 for view in views)
    assert with_drawings(views, rows, None) == (views, rows) and with_drawings(None, rows, drawn) == (None, rows)


def test_a_fit_adds_the_recipes_drawings_to_its_tiles_and_head(dataset, tmp_path):
    from artcnn.models import resolve_recipe

    config = TrainConfig()
    recipe = resolve_recipe(config)
    additions = fitting.synthetic_additions(dataset, dataset.manifest, config, tmp_path / "a", None)
    assert additions.counterpart.drawings == round(recipe.drawn_ratio * 4) == 1
    assert additions.labels.tolist() == [0] * len(additions.files)
    assert additions.description == (" with 1 synthetic hand drawing in class han and synthetic pictures for its "
                                     "statistics head alone (1 in class han, 1 in class kom)")
    more = fitting.synthetic_additions(dataset, dataset.manifest, TrainConfig(drawn_ratio=1.5), tmp_path / "b", None)
    with_drawn = fitting.statistics_head(dataset, dataset.manifest, recipe, more)[0]
    plain = fitting.synthetic_additions(dataset, dataset.manifest, TrainConfig(drawn_ratio=0.0), tmp_path, None)
    without = fitting.statistics_head(dataset, dataset.manifest, recipe, plain)[0]
    # The head is standardised over what it was fitted on: each artwork, each of the 6 drawings and the head's own
    # pictures, in both views.
    views = read_statistics(dataset)
    artworks = [views[view] for view in ("file", "thumbnail")]
    drawings = [more.counterpart.statistics[view] for view in ("file", "thumbnail")]
    pictures = [table for tables in plain.head_examples.statistics.values() for table in tables.values()]
    np.testing.assert_allclose(with_drawn.mean, pd.concat(artworks + drawings + pictures).to_numpy().mean(axis=0))
    np.testing.assert_allclose(without.mean, pd.concat(artworks + pictures).to_numpy().mean(axis=0))


def test_without_the_class_a_recipes_drawings_are_left_out_but_asked_ones_refused(dataset, tmp_path):
    renamed = dataclasses.replace(TrainConfig(), drawn_class="ink")
    assert fitting.synthetic_additions(dataset, dataset.manifest, renamed, tmp_path, None).counterpart is None
    with pytest.raises(ValueError, match="counterpart adds drawings to class ink, but dataset .* has no such class"):
        fitting.synthetic_additions(dataset, dataset.manifest, dataclasses.replace(renamed, drawn_ratio=0.5), tmp_path,
                                    None)
