import dataclasses

import numpy as np
import pandas as pd
import pytest

from artcnn import data, fitting
from artcnn.config import TrainConfig
from artcnn.dataset import read_statistics
from artcnn.head_examples import GENERATIVE, INK_DRAWING, head_examples
from artcnn.image_statistics import NAMES, VIEWS, image_statistics
from tests.builders import generated_dataset


def _rows(han: int, kom: int) -> pd.DataFrame:
    return pd.DataFrame({"artwork": [f"art{index}" for index in range(han + kom)],
                         "class": ["han"] * han + ["kom"] * kom})


def test_each_class_gets_its_kind_per_artwork_with_statistics_of_both_views():
    events = []
    examples = head_examples(_rows(4, 6), 32, {"han": (1.0, INK_DRAWING), "kom": (0.5, GENERATIVE)}, seed=2,
                             progress=events.append)
    assert examples.counts == {"han": 4, "kom": 3}
    for name, kind in (("han", INK_DRAWING), ("kom", GENERATIVE)):
        assert set(examples.statistics[name]) == set(VIEWS)
        for table in examples.statistics[name].values():
            assert list(table.columns) == list(NAMES) and np.isfinite(table.to_numpy()).all()
            assert all(artwork.startswith(f"synthetic {kind.name} ") for artwork in table.index)
    assert (events[-1].done, events[-1].total) == (7, 7)
    assert examples.description == "synthetic pictures for its statistics head alone (4 in class han, 3 in class kom)"


def test_a_fit_on_fewer_artworks_gets_the_first_pictures_and_no_more_than_were_made():
    kinds = {"han": (1.0, INK_DRAWING), "kom": (1.0, GENERATIVE)}
    examples = head_examples(_rows(3, 3), 32, kinds, seed=1)
    fewer = examples.for_rows(_rows(2, 1))
    made_for_fewer = head_examples(_rows(2, 1), 32, kinds, seed=1)
    assert fewer.counts == made_for_fewer.counts == {"han": 2, "kom": 1}
    for name in kinds:
        for view in VIEWS:
            pd.testing.assert_frame_equal(fewer.statistics[name][view], made_for_fewer.statistics[name][view])
    with pytest.raises(ValueError, match="these are 3 synthetic pictures of class han, fewer than a fit on the rows "
                                         "given gets. Received: rows asking for 5"):
        examples.for_rows(_rows(5, 3))
    with pytest.raises(ValueError, match="ratio must be at least 0. Received: ratio=-0.5"):
        head_examples(_rows(1, 1), 32, {"han": (-0.5, INK_DRAWING)})


def test_the_pictures_join_the_heads_artworks_as_their_class():
    examples = head_examples(_rows(2, 2), 32, {"han": (1.0, INK_DRAWING), "kom": (0.5, GENERATIVE)})
    views = {view: pd.DataFrame(np.zeros((4, len(NAMES))), index=[f"art{i}" for i in range(4)], columns=list(NAMES))
             for view in VIEWS}
    joined, rows = examples.added_to(views, _rows(2, 2))
    assert rows["class"].value_counts().to_dict() == {"han": 2 + 2, "kom": 2 + 1}
    assert all(list(joined[view].index) == list(rows["artwork"]) for view in VIEWS)
    assert examples.added_to(None, _rows(2, 2))[0] is None


def test_ink_drawings_are_dark_lines_and_masses_on_light_paper():
    from artcnn.synthetic.drawn import ink_drawing

    for seed in range(4):
        named = dict(zip(NAMES, image_statistics(ink_drawing(np.random.default_rng(seed), 300, 240))))
        assert named["light_share"] > 0.4 and named["dark_share"] > 0.005 and named["saturation_mean"] < 0.1


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return data.read_dataset(generated_dataset(tmp_path_factory.mktemp("head_examples"), han=4, kom=6))


def test_a_fit_adds_the_recipes_pictures_to_its_head_only(dataset, tmp_path):
    from artcnn.models import resolve_recipe

    config = TrainConfig()
    recipe = resolve_recipe(config)
    additions = fitting.synthetic_additions(dataset, dataset.manifest, config, tmp_path, None)
    assert additions.head_examples.counts == {"han": round(recipe.head_drawn_ratio * 4),
                                              "kom": round(recipe.head_prior_ratio * 6)}
    # Never cut into tiles: the fit's added tiles are the counterpart's drawings alone.
    assert additions.files == list(additions.counterpart.files)
    head = fitting.statistics_head(dataset, dataset.manifest, recipe, additions)[0]
    views = read_statistics(dataset)
    fitted_on = [views[view] for view in VIEWS] + [additions.counterpart.statistics[view] for view in VIEWS] + [
        table for tables in additions.head_examples.statistics.values() for table in tables.values()]
    np.testing.assert_allclose(head.mean, pd.concat(fitted_on).to_numpy().mean(axis=0))
    # A recipe without a statistics head, or a dataset without the classes, gets none.
    assert fitting.synthetic_additions(dataset, dataset.manifest, TrainConfig(statistics_weight=0.0), tmp_path,
                                       None).head_examples is None
    renamed = dataclasses.replace(config, drawn_class="ink", prior_class="code")
    assert fitting.synthetic_additions(dataset, dataset.manifest, renamed, tmp_path, None).head_examples is None
