from types import SimpleNamespace

from artcnn.catalogue import Catalogue


def _result(name, label="kom", error=None):
    return SimpleNamespace(file=name, sha256="ab" * 32, width=10, height=20, tiles=3,
                           probabilities={"han": 0.2, "kom": 0.8}, label=label, confidence=0.8, error=error,
                           tile_boxes=[] if error else [(0, 0, 5, [0.2, 0.8])])


def test_results_survive_a_new_connection(tmp_path):
    catalogue = Catalogue(tmp_path / "c.sqlite")
    run = catalogue.start_classification("m.keras", ["han", "kom"], "upload")
    catalogue.add_result(run, 0, _result("a.jpg"))
    catalogue.add_result(run, 1, _result("b.jpg", label=None, error="not an image"))
    # No finish: as after a server restart mid-classification.
    reopened = Catalogue(tmp_path / "c.sqlite")
    (summary,) = reopened.classifications()
    assert summary["artworks"] == 2 and summary["errors"] == 1 and summary["finished"] is None
    rows = reopened.results(run)
    assert [r["file"] for r in rows] == ["a.jpg", "b.jpg"]
    assert rows[0]["probabilities"] == {"han": 0.2, "kom": 0.8}
    assert rows[0]["tile_boxes"] == [(0, 0, 5, [0.2, 0.8])] and rows[1]["tile_boxes"] == []
    assert rows[1]["error"] == "not an image"


def test_datasets_runs_and_forget(tmp_path):
    catalogue = Catalogue(tmp_path / "c.sqlite")
    catalogue.record_dataset("demo", ["han", "kom"], {"train": {"han": 5}}, skipped=1)
    catalogue.record_run("run1", "demo", "seed", {"epochs": 1})
    assert catalogue.datasets()[0]["classes"] == ["han", "kom"]
    assert catalogue.runs()[0]["config"] == {"epochs": 1}
    catalogue.forget("runs", "run1")
    assert catalogue.runs() == []


def test_deleting_a_classification_removes_its_results(tmp_path):
    catalogue = Catalogue(tmp_path / "c.sqlite")
    run = catalogue.start_classification("m.keras", ["han", "kom"], "upload")
    catalogue.add_result(run, 0, _result("a.jpg"))
    catalogue.delete_classification(run)
    assert catalogue.classifications() == [] and catalogue.results(run) == []
