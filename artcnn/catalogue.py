"""The SQLite catalogue: what was built, trained and classified, kept across server restarts.

Folders hold the artefacts (tiles, run files, models); the catalogue holds the record of them
and every classification result, written row by row as results arrive so that a server
restarted mid-classification keeps what was already done.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from artcnn.access import current_user

_SCHEMA = """
-- user: who built, trained or classified (access.current_user: the signed-in person), NULL without sign-in.
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY, created TEXT NOT NULL, classes TEXT NOT NULL, counts TEXT NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0, user TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    name TEXT PRIMARY KEY, created TEXT NOT NULL, dataset TEXT NOT NULL, recipe TEXT NOT NULL,
    config TEXT NOT NULL, user TEXT
);
CREATE TABLE IF NOT EXISTS classifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, model TEXT NOT NULL,
    classes TEXT NOT NULL, source TEXT NOT NULL, finished TEXT, user TEXT
);
CREATE TABLE IF NOT EXISTS results (
    classification INTEGER NOT NULL REFERENCES classifications(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, file TEXT NOT NULL, sha256 TEXT, width INTEGER, height INTEGER,
    tiles INTEGER, probabilities TEXT, label TEXT, confidence REAL, error TEXT,
    -- JSON [[x, y, size, [p per class]], ...]: what the Classify page draws over the artwork
    tile_boxes TEXT,
    -- prediction.ArtworkResult.review: 1 when the verdict is worth a person's look
    review INTEGER NOT NULL DEFAULT 0,
    -- JSON {column: value}: prediction.ArtworkResult.details (a IIIF canvas's, a collection record's columns)
    details TEXT,
    -- the size the tiles were cut from and what reading the file changed (prediction.ArtworkResult)
    used_width INTEGER, used_height INTEGER, note TEXT NOT NULL DEFAULT '',
    -- prediction.ArtworkResult.duplicate_of: the earlier file of the classification this artwork repeats
    duplicate_of TEXT,
    PRIMARY KEY (classification, position)
);
-- A person's verdict on an artwork (corrections.add_corrections): its class, what the model said, and the
-- dataset version it was added to.
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, file TEXT NOT NULL, label TEXT NOT NULL,
    predicted TEXT, classification INTEGER, dataset TEXT NOT NULL
);
-- What was moved to the workspace's trash (trash.move_to_trash): kind dataset, run or model, its name, who
-- deleted it, the trash item holding it, and when it was restored or purged (NULL while in the trash).
CREATE TABLE IF NOT EXISTS deletions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    user TEXT, item TEXT NOT NULL, restored TEXT, restored_by TEXT, purged TEXT
);
"""
# Columns added since the first catalogues were written: (table, column, definition), added on open.
_ADDED_COLUMNS = (("results", "review", "INTEGER NOT NULL DEFAULT 0"), ("results", "details", "TEXT"),
                  ("results", "used_width", "INTEGER"), ("results", "used_height", "INTEGER"),
                  ("results", "note", "TEXT NOT NULL DEFAULT ''"), ("results", "duplicate_of", "TEXT"),
                  ("datasets", "user", "TEXT"), ("runs", "user", "TEXT"), ("classifications", "user", "TEXT"))


CATALOGUE_FILE = "catalogue.sqlite"
# One Catalogue per file in this process, so that its lock serialises every writer of the file.
_OPEN: dict[Path, "Catalogue"] = {}
_OPEN_LOCK = threading.Lock()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_catalogue(path: str | os.PathLike) -> "Catalogue":
    """The process's one Catalogue of the file `path` (made on first use)."""
    path = Path(path).resolve()
    with _OPEN_LOCK:
        if path not in _OPEN:
            _OPEN[path] = Catalogue(path)
        return _OPEN[path]


class Catalogue:
    """One SQLite file; safe to share between the page threads and training threads of one server.
    Get it with `open_catalogue` (or `Workspace.catalogue`): two objects for one file would not share a lock."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)
            for table, column, definition in _ADDED_COLUMNS:
                if column not in {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            try:
                with db:
                    yield db
            finally:
                db.close()

    def record_dataset(self, name: str, classes: list[str], counts: dict, skipped: int,
                       user: str | None = None) -> None:
        """A dataset built by `user` (default: access.current_user())."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO datasets (name, created, classes, counts, skipped, user) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, now(), json.dumps(classes), json.dumps(counts), skipped, user or current_user()),
            )

    def record_run(self, name: str, dataset: str, recipe: str, config: dict, user: str | None = None) -> None:
        """A run started by `user` (default: access.current_user())."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs (name, created, dataset, recipe, config, user) VALUES (?, ?, ?, ?, ?, ?)",
                (name, now(), dataset, recipe, json.dumps(config), user or current_user()),
            )

    def row(self, table: str, name: str) -> dict | None:
        """The datasets or runs row of `name` as stored (JSON columns as text), for the trash to keep; None."""
        if table not in ("datasets", "runs"):
            raise ValueError(f"table must be datasets or runs. Received: table={table!r}")
        with self._connect() as db:
            found = db.execute(f"SELECT * FROM {table} WHERE name = ?", (name,)).fetchone()
        return None if found is None else dict(found)

    def put_row(self, table: str, row: dict) -> None:
        """Put back a row `row` gave (a restored dataset's or run's record, its user and date kept)."""
        if table not in ("datasets", "runs"):
            raise ValueError(f"table must be datasets or runs. Received: table={table!r}")
        with self._connect() as db:
            columns = {found["name"] for found in db.execute(f"PRAGMA table_info({table})")}
            kept = {key: value for key, value in row.items() if key in columns}
            db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(kept)}) VALUES ({', '.join('?' * len(kept))})",
                       tuple(kept.values()))

    def forget(self, table: str, name: str) -> None:
        if table not in ("datasets", "runs"):
            raise ValueError(f"table must be datasets or runs. Received: table={table!r}")
        with self._connect() as db:
            db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))

    def datasets(self) -> list[dict]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM datasets ORDER BY created DESC").fetchall()
        return [{**dict(row), "classes": json.loads(row["classes"]), "counts": json.loads(row["counts"])}
                for row in rows]

    def runs(self) -> list[dict]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created DESC").fetchall()
        return [{**dict(row), "config": json.loads(row["config"])} for row in rows]

    def start_classification(self, model: str, classes: list[str], source: str, user: str | None = None) -> int:
        """A classification started by `user` (default: access.current_user()); returns its id."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO classifications (created, model, classes, source, user) VALUES (?, ?, ?, ?, ?)",
                (now(), model, json.dumps(classes), source, user or current_user()),
            )
            return int(cursor.lastrowid)

    def add_result(self, classification: int, position: int, result) -> None:
        """Store one prediction.ArtworkResult the moment it exists."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO results (classification, position, file, sha256, width, height, tiles, "
                "probabilities, label, confidence, error, tile_boxes, review, details, used_width, used_height, note, "
                "duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (classification, position, result.file, result.sha256, result.width, result.height,
                 result.tiles, json.dumps(result.probabilities), result.label, result.confidence, result.error,
                 json.dumps(result.tile_boxes), int(result.review), json.dumps(result.details), result.used_width,
                 result.used_height, result.note, result.duplicate_of),
            )

    def finish_classification(self, classification: int) -> None:
        with self._connect() as db:
            db.execute("UPDATE classifications SET finished = ? WHERE id = ?", (now(), classification))

    def classifications(self) -> list[dict]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.*, COUNT(r.position) AS artworks, SUM(r.error IS NOT NULL) AS errors "
                "FROM classifications c LEFT JOIN results r ON r.classification = c.id "
                "GROUP BY c.id ORDER BY c.id DESC"
            ).fetchall()
        return [{**dict(row), "classes": json.loads(row["classes"])} for row in rows]

    def results(self, classification: int) -> list[dict]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM results WHERE classification = ? ORDER BY position", (classification,)
            ).fetchall()
        return [{**dict(row), "probabilities": json.loads(row["probabilities"] or "{}"), "review": bool(row["review"]),
                 "tile_boxes": [tuple(box) for box in json.loads(row["tile_boxes"] or "[]")],
                 "details": json.loads(row["details"] or "{}")} for row in rows]

    def record_corrections(self, corrections: list[dict], dataset: str) -> None:
        """Corrections ({"file", "label", "predicted", "classification"}) added to dataset `dataset`."""
        with self._connect() as db:
            db.executemany(
                "INSERT INTO corrections (created, file, label, predicted, classification, dataset) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(now(), item["file"], item["label"], item.get("predicted"), item.get("classification"), dataset)
                 for item in corrections],
            )

    def corrections(self) -> list[dict]:
        with self._connect() as db:
            return [dict(row) for row in db.execute("SELECT * FROM corrections ORDER BY id").fetchall()]

    def delete_classification(self, classification: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM classifications WHERE id = ?", (classification,))

    def classifications_of(self, models: set[str]) -> list[dict]:
        """The classifications (newest first) whose model is one of `models` (as they recorded it)."""
        return [row for row in self.classifications() if row["model"] in models]

    def record_deletion(self, kind: str, name: str, item: str, user: str | None = None) -> None:
        """`name` (a dataset, run or model) moved to the trash item `item` by `user` (default: the acting one)."""
        with self._connect() as db:
            db.execute("INSERT INTO deletions (created, kind, name, user, item) VALUES (?, ?, ?, ?, ?)",
                       (now(), kind, name, user or current_user(), item))

    def record_restored(self, item: str, user: str | None = None) -> None:
        with self._connect() as db:
            db.execute("UPDATE deletions SET restored = ?, restored_by = ? WHERE item = ? AND restored IS NULL",
                       (now(), user or current_user(), item))

    def record_purged(self, item: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE deletions SET purged = ? WHERE item = ? AND purged IS NULL", (now(), item))

    def deletions(self) -> list[dict]:
        """Every deletion, newest first."""
        with self._connect() as db:
            return [dict(row) for row in db.execute("SELECT * FROM deletions ORDER BY id DESC").fetchall()]
