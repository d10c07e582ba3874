"""artcnn.folds: sources of artworks and the leave-sources-out folds."""

import pandas as pd
import pytest

from artcnn.folds import assign_sources, plan_folds, read_sources_csv


def table(sources: dict[str, list[str]], per_source: int = 4) -> pd.DataFrame:
    """class → sources, each with `per_source` artworks named <class>/<source>_<n>.png."""
    rows = [{"artwork": f"{name}/{source}_{n}.png", "class": name, "source": source}
            for name, names in sources.items() for source in names for n in range(per_source)]
    return pd.DataFrame(rows)


def test_each_source_of_a_multi_source_class_is_left_out_once():
    artworks = table({"han": ["ink"], "kom": ["alpha", "beta", "gamma"]}, per_source=6)
    folds = plan_folds(artworks, seed=1)

    assert [fold.left_out for fold in folds] == [("alpha",), ("beta",), ("gamma",)]
    for fold in folds:
        tested = artworks[artworks["artwork"].isin(fold.test)]
        # The left-out source is tested whole, the other kom sources not at all.
        assert set(tested.loc[tested["class"] == "kom", "source"]) == {fold.name}
        assert (tested["source"] == fold.name).sum() == 6
        assert (tested["source"] == "ink").sum() == 2
    # The single-source class is split: every ink artwork is tested in exactly one fold.
    ink = artworks.loc[artworks["source"] == "ink", "artwork"]
    assert sorted(name for fold in folds for name in fold.test if name in set(ink)) == sorted(ink)


def test_plan_folds_is_seeded_and_independent_of_row_order():
    artworks = table({"han": ["ink"], "kom": ["alpha", "beta"]}, per_source=10)
    assert plan_folds(artworks, 3) == plan_folds(artworks.iloc[::-1], 3)
    assert plan_folds(artworks, 3) != plan_folds(artworks, 4)


def test_two_multi_source_classes_leave_out_each_source():
    folds = plan_folds(table({"han": ["ink", "oil"], "kom": ["alpha", "beta"]}))
    assert [fold.name for fold in folds] == ["ink", "oil", "alpha", "beta"]
    assert all(len(fold.test) == 4 for fold in folds)


def test_plan_folds_explains_what_it_cannot_do():
    with pytest.raises(ValueError, match="needs a class with at least two sources.*han: ink; kom: alpha"):
        plan_folds(table({"han": ["ink"], "kom": ["alpha"]}))
    mixed = table({"han": ["ink"], "kom": ["alpha", "beta"]})
    mixed.loc[0, "source"] = "alpha"
    with pytest.raises(ValueError, match="source.s. alpha have artworks in more than one class"):
        plan_folds(mixed)


def test_sources_come_from_a_csv_by_path_or_file_name(tmp_path):
    csv = tmp_path / "sources.csv"
    csv.write_text("File,Source\nart/kom/x_1.png,alice\ny_2.png,bob\n", encoding="utf-8")
    sources = read_sources_csv(csv)
    assigned = assign_sources(["art/kom/x_1.png", "elsewhere/y_2.png", "art/han/kandinsky_3.jpg"], sources)
    assert assigned == {"art/kom/x_1.png": "alice", "elsewhere/y_2.png": "bob", "art/han/kandinsky_3.jpg": "kandinsky"}

    (tmp_path / "bad.csv").write_text("name,artist\na.png,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs a column `file` .or `artwork`. and a column `source`"):
        read_sources_csv(tmp_path / "bad.csv")


def test_sources_grouped_into_at_most_n_folds_are_each_left_out_once():
    """Issue #10: 5 folds over 15 sources (12 kom artists of different sizes, 3 han)."""
    kom = {f"k{n:02d}": 2 + n % 5 for n in range(12)}
    rows = [{"artwork": f"kom/{source}_{n}.png", "class": "kom", "source": source}
            for source, count in kom.items() for n in range(count)]
    rows += [{"artwork": f"han/{source}_{n}.png", "class": "han", "source": source}
             for source in ("ink", "oil", "wash") for n in range(4)]
    artworks = pd.DataFrame(rows)
    folds = plan_folds(artworks, seed=0, max_folds=5)

    assert len(folds) == 5
    left_out = [source for fold in folds for source in fold.left_out]
    assert sorted(left_out) == sorted(artworks["source"].unique())  # every source exactly once
    for fold in folds:
        tested = set(artworks.loc[artworks["artwork"].isin(fold.test), "source"])
        assert tested == set(fold.left_out)  # no source on both sides
        trained = set(artworks["source"]) - tested
        assert {"kom", "han"} <= set(artworks.loc[artworks["source"].isin(trained), "class"])
        assert fold.name == " + ".join(fold.left_out)
    sizes = [len(fold.test) for fold in folds]
    assert max(sizes) - min(sizes) <= 4  # the folds test about as many artworks each
    assert plan_folds(artworks, seed=0, max_folds=15) == plan_folds(artworks, seed=0)
    with pytest.raises(ValueError, match=r"max_folds must be at least 2 .or None for one fold per source.. Received: max_folds=1"):
        plan_folds(artworks, max_folds=1)


def test_a_single_source_class_is_split_over_grouped_folds():
    artworks = table({"han": ["ink"], "kom": ["alpha", "beta", "gamma", "delta"]}, per_source=3)
    folds = plan_folds(artworks, seed=2, max_folds=2)
    assert [len(fold.left_out) for fold in folds] == [2, 2]
    ink = set(artworks.loc[artworks["source"] == "ink", "artwork"])
    tested_ink = [name for fold in folds for name in fold.test if name in ink]
    assert sorted(tested_ink) == sorted(ink) and all(fold.test & ink for fold in folds)
