"""The command line's museum side: classify over IIIF manifests with records, JSON and annotations
(the export command is tested with export itself, in test_export.py)."""

import csv
import json

import badfiles
import pytest
from iiif_server import LIMIT_PIXELS

keras = pytest.importorskip("keras")

from artcnn.cli import main  # noqa: E402
from artcnn.storage import save_model  # noqa: E402

METADATA = {"classes": ["han", "kom"], "input_size": 32,
            "tiling": {"tile_size": 32, "long_side": 80, "blank_threshold": 0.0}}


@pytest.fixture(scope="module")
def brightness_model(tmp_path_factory):
    return save_model(badfiles.brightness_model(keras), tmp_path_factory.mktemp("model") / "bright.keras", METADATA)


def test_the_command_line_writes_csv_json_and_annotations(brightness_model, iiif_server, tmp_path, capsys):
    (tmp_path / "records.csv").write_text("accession_number,credit\nrecto,Gift\nnowhere,Purchase\n", encoding="utf-8")
    out = tmp_path / "results.csv"
    code = main(["classify", str(brightness_model), "--manifest", f"{iiif_server.url}/v2/manifest.json",
                 f"{iiif_server.url}/v3/manifest.json", "--out", str(out), "--json", str(tmp_path / "results.json"),
                 "--annotations", str(tmp_path / "annotations"), "--metadata", str(tmp_path / "records.csv"),
                 "--key", "accession_number", "--cache", str(tmp_path / "cache"), "--timeout", "0.5",
                 "--retries", "0", "--max-pixels", str(LIMIT_PIXELS)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and [row["canvas"] for row in rows][:2] == [f"{iiif_server.url}/v2/canvas/1",
                                                                     f"{iiif_server.url}/v2/canvas/2"]
    assert [row["credit"] for row in rows] == ["Gift", "", "", "", "", ""]
    assert rows[0]["title"] == "Evening Study" and rows[0]["label"] == "han" and "404" in rows[1]["error"]
    document = json.loads((tmp_path / "results.json").read_text())
    assert [a["identifier"] for a in document["artworks"]][:2] == ["recto", f"{iiif_server.url}/v2/canvas/2"]
    pages = sorted((tmp_path / "annotations").glob("*.json"))
    assert len(pages) == 2
    items = [item for page in pages for item in json.loads(page.read_text())["items"]]
    assert sorted(item["target"]["id"] for item in items) == sorted(
        row["canvas"] for row in rows if row["label"])
    assert "no artwork for record accession_number=nowhere" in printed.out + printed.err
    assert "no record in records.csv for artwork verso (broken link)" in printed.out + printed.err


@pytest.mark.parametrize("flags, message", [
    (["--metadata", "records.csv"], "--metadata and --key go together"),
    ([], "Nothing to classify"),
])
def test_the_command_line_refuses_incomplete_flags(brightness_model, tmp_path, capsys, flags, message):
    assert main(["classify", str(brightness_model), "--out", str(tmp_path / "r.csv"), *flags]) == 2
    assert message in capsys.readouterr().err


def test_the_command_line_records_in_the_workspace_catalogue_the_app_reads(brightness_model, tmp_path, monkeypatch,
                                                                           capsys):
    from artcnn.access import account_name
    from artcnn.workspace import Workspace

    folder = tmp_path / "art"
    folder.mkdir()
    badfiles.solid(folder / "grey.png", (40, 40), (128, 128, 128))
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "no workspace here"))
    assert main(["classify", str(brightness_model), str(folder), "--out", str(tmp_path / "a.csv")]) == 0
    assert not (tmp_path / "no workspace here").exists()  # nothing recorded, nothing created
    assert main(["classify", str(brightness_model), str(folder), "--out", str(tmp_path / "b.csv"),
                 "--workspace", str(tmp_path / "ws")]) == 0
    assert "recorded in the catalogue of workspace" in capsys.readouterr().out
    recorded = Workspace.open(tmp_path / "ws").catalogue.classifications()
    assert [(row["model"], row["artworks"], row["errors"]) for row in recorded] == [("bright", 1, 0)]
    assert recorded[0]["user"] == account_name() and account_name()  # who ran the command
    monkeypatch.setenv("ARTCNN_WORKSPACE", str(tmp_path / "ws"))  # the app's workspace: recorded without the flag
    assert main(["classify", str(brightness_model), str(folder), "--out", str(tmp_path / "c.csv")]) == 0
    assert len(Workspace.open(tmp_path / "ws").catalogue.classifications()) == 2
