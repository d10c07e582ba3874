from pathlib import Path

import numpy as np
import pytest

from artcnn.corrections import Correction, add_corrections, next_version
from artcnn.dataset import read_description, read_manifest
from artcnn.dataset_build import build_dataset
from artcnn.synthetic import generate_kom
from tests.builders import TINY_TILING, artworks


def test_corrected_artworks_make_a_new_dataset_version_recorded_in_the_catalogue(empty_workspace, tmp_path):
    made = artworks(tmp_path / "art", per_class=3)
    original = build_dataset(tmp_path / "art", empty_workspace.dataset_dir("paintings"), TINY_TILING)
    newcomer = tmp_path / "inbox" / "found.png"
    newcomer.parent.mkdir()
    generate_kom(np.random.default_rng(99), 160, 128).save(newcomer)
    moved = made["han"][0]

    built = add_corrections(original.path, [Correction(str(newcomer), "han", predicted="kom", classification=4),
                                            (str(moved), "kom")])

    assert built.path == empty_workspace.dataset_dir("paintings_v2") and built.tiling == original.tiling
    side = read_manifest(read_description(built.path)).groupby("artwork")[["class", "split"]].first()
    assert side.loc[str(newcomer.resolve()), "class"] == "han" and side.loc[str(moved.resolve()), "class"] == "kom"
    assert len(side) == 7 and set(side["split"]) == {"train", "test"}
    assert built.artworks["train"]["han"] + built.artworks["test"]["han"] == 3
    assert "paintings_v2" in {entry["name"] for entry in empty_workspace.catalogue.datasets()}
    stored = empty_workspace.catalogue.corrections()
    assert [(Path(row["file"]).name, row["label"], row["predicted"], row["classification"], row["dataset"])
            for row in stored] == [("found.png", "han", "kom", 4, "paintings_v2"), (moved.name, "kom", None, None,
                                                                                    "paintings_v2")]
    assert next_version(built.path) == empty_workspace.dataset_dir("paintings_v3")


def test_bad_corrections_are_refused_in_words(tmp_path):
    artworks(tmp_path / "art", per_class=2)
    original = build_dataset(tmp_path / "art", tmp_path / "dataset", TINY_TILING)
    with pytest.raises(ValueError, match="no corrected artworks"):
        add_corrections(original.path, [])
    with pytest.raises(ValueError, match="label='dog'"):
        add_corrections(original.path, [(str(tmp_path / "art" / "han" / "x.png"), "dog")])
    with pytest.raises(ValueError, match="does not exist"):
        add_corrections(original.path, [(str(tmp_path / "nowhere.png"), "han")])
    first = sorted((tmp_path / "art" / "han").iterdir())[0]
    first.unlink()
    with pytest.raises(ValueError, match="no longer there"):
        add_corrections(original.path, [(str(sorted((tmp_path / "art" / "kom").iterdir())[0]), "han")])
