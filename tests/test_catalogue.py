from types import SimpleNamespace

import pytest

from artcnn.catalogue import Catalogue


def _result(name, label="kom", error=None, review=False):
    return SimpleNamespace(file=name, sha256="ab" * 32, width=10, height=20, tiles=3,
                           probabilities={"han": 0.2, "kom": 0.8}, label=label, confidence=0.8, error=error,
                           tile_boxes=[] if error else [(0, 0, 5, [0.2, 0.8])], review=review,
                           details={} if error else {"title": "Dawn"}, used_width=None if error else 5,
                           used_height=None if error else 10, note="" if error else "reduced from 10×20 to 5×10",
                           duplicate_of=None)


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
    assert rows[0]["details"] == {"title": "Dawn"} and rows[1]["details"] == {}
    assert (rows[0]["width"], rows[0]["used_width"], rows[0]["note"]) == (10, 5, "reduced from 10×20 to 5×10")
    assert (rows[1]["used_width"], rows[1]["note"]) == (None, "")


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


def test_a_catalogue_from_before_review_is_upgraded_on_open(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE classifications (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, "
            "model TEXT NOT NULL, classes TEXT NOT NULL, source TEXT NOT NULL, finished TEXT);"
            "CREATE TABLE results (classification INTEGER NOT NULL REFERENCES classifications(id) ON DELETE CASCADE,"
            " position INTEGER NOT NULL, file TEXT NOT NULL, sha256 TEXT, width INTEGER, height INTEGER,"
            " tiles INTEGER, probabilities TEXT, label TEXT, confidence REAL, error TEXT, tile_boxes TEXT,"
            " PRIMARY KEY (classification, position));"
            "INSERT INTO classifications VALUES (1, 'then', 'm.keras', '[\"han\", \"kom\"]', 'upload', 'then');"
            "INSERT INTO results VALUES (1, 0, 'old.jpg', NULL, 1, 1, 1, '{}', 'han', 0.9, NULL, '[]');")
    catalogue = Catalogue(path)
    assert catalogue.results(1)[0]["review"] is False and catalogue.results(1)[0]["details"] == {}
    assert catalogue.results(1)[0]["note"] == "" and catalogue.results(1)[0]["used_width"] is None
    run = catalogue.start_classification("m.keras", ["han", "kom"], "upload")
    catalogue.add_result(run, 0, _result("new.jpg", review=True))
    assert catalogue.results(run)[0]["review"] is True


def test_open_catalogue_gives_one_object_per_file(tmp_path):
    from artcnn.catalogue import open_catalogue

    assert open_catalogue(tmp_path / "c.sqlite") is open_catalogue(tmp_path / "." / "c.sqlite")
    assert open_catalogue(tmp_path / "c.sqlite") is not open_catalogue(tmp_path / "d.sqlite")


def test_the_acting_user_is_recorded_on_datasets_runs_classifications_and_deletions(tmp_path):
    from artcnn.access import acting_as

    catalogue = Catalogue(tmp_path / "c.sqlite")
    catalogue.record_dataset("nobody's", ["han", "kom"], {}, skipped=0)
    with acting_as("ana@museum.org"):
        catalogue.record_dataset("demo", ["han", "kom"], {}, skipped=0)
        catalogue.record_run("run1", "demo", "seed", {"epochs": 1})
        classification = catalogue.start_classification("run1", ["han", "kom"], "upload")
        catalogue.record_deletion("run", "run1", "item-1")
    catalogue.record_run("run2", "demo", "seed", {}, user="ben@museum.org")
    assert {row["name"]: row["user"] for row in catalogue.datasets()} == {"demo": "ana@museum.org", "nobody's": None}
    assert {row["name"]: row["user"] for row in catalogue.runs()} == {"run1": "ana@museum.org",
                                                                      "run2": "ben@museum.org"}
    assert catalogue.classifications()[0]["user"] == "ana@museum.org"
    assert [row["id"] for row in catalogue.classifications_of({"run1", "other"})] == [classification]
    assert catalogue.classifications_of({"run2"}) == []
    catalogue.record_restored("item-1", user="ben@museum.org")
    (deletion,) = catalogue.deletions()
    assert (deletion["kind"], deletion["name"], deletion["user"], deletion["restored_by"]) == (
        "run", "run1", "ana@museum.org", "ben@museum.org") and deletion["restored"] and deletion["purged"] is None


def test_a_row_kept_aside_is_put_back_with_its_user_and_date(tmp_path):
    catalogue = Catalogue(tmp_path / "c.sqlite")
    catalogue.record_run("run1", "demo", "seed", {"epochs": 1}, user="ana@museum.org")
    row = catalogue.row("runs", "run1")
    catalogue.forget("runs", "run1")
    assert catalogue.row("runs", "run1") is None
    catalogue.put_row("runs", {**row, "a column gone since": 1})
    assert catalogue.runs()[0] == {**row, "config": {"epochs": 1}}
    with pytest.raises(ValueError, match="Received: table='results'"):
        catalogue.row("results", "run1")


def test_a_catalogue_from_before_users_keeps_its_rows_and_records_users(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE datasets (name TEXT PRIMARY KEY, created TEXT NOT NULL, classes TEXT NOT NULL, "
            "counts TEXT NOT NULL, skipped INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE runs (name TEXT PRIMARY KEY, created TEXT NOT NULL, dataset TEXT NOT NULL, "
            "recipe TEXT NOT NULL, config TEXT NOT NULL);"
            "CREATE TABLE classifications (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, "
            "model TEXT NOT NULL, classes TEXT NOT NULL, source TEXT NOT NULL, finished TEXT);"
            "INSERT INTO datasets VALUES ('old', 'then', '[\"han\", \"kom\"]', '{}', 0);"
            "INSERT INTO runs VALUES ('old run', 'then', 'old', 'seed', '{}');"
            "INSERT INTO classifications VALUES (1, 'then', 'old run', '[\"han\", \"kom\"]', 'upload', 'then');")
    catalogue = Catalogue(path)
    assert [(row["name"], row["user"]) for row in catalogue.datasets()] == [("old", None)]
    assert [(row["name"], row["user"]) for row in catalogue.runs()] == [("old run", None)]
    assert catalogue.classifications()[0]["user"] is None and catalogue.deletions() == []
    catalogue.record_run("new run", "old", "seed", {}, user="ana@museum.org")
    catalogue.record_dataset("new", ["han", "kom"], {}, skipped=0, user="ana@museum.org")
    assert catalogue.row("runs", "new run")["user"] == catalogue.row("datasets", "new")["user"] == "ana@museum.org"
