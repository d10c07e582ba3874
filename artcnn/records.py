"""A collection's records (a CSV exported from its collection system) joined to the artworks classified,
so that their columns sit beside each verdict.

Each artwork is matched by one key column (`accession_number`, say): the artwork's own value for it
when it has one (a IIIF metadata field of that name: "Accession Number", "accession_number"), else its
name (a file's name stem, a canvas's label). Records with no artwork and artworks with no record are
listed in a `RecordMatch`, never dropped silently.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from artcnn.sources import Artwork

# Record columns named like a results column are carried with this prefix, so neither is lost.
CLASHING_PREFIX = "record_"


def normalise_label(label: str) -> str:
    """'Accession Number', 'accession_number' and 'accession-number' are one field."""
    return re.sub(r"[\s_-]+", " ", label).strip().lower()


@dataclass(frozen=True)
class Records:
    """The rows of a records CSV, by the value of their key column."""

    path: Path
    key: str
    # The CSV's columns, as they will be named in the results (clashing ones prefixed).
    columns: list[str]
    # Key value → {results column: value}, in the CSV's order.
    rows: dict[str, dict[str, str]]


def read_records(path: str | os.PathLike, key: str, reserved: Iterable[str] = ()) -> Records:
    """Read a records CSV keyed by column `key`. A column named like one in `reserved` (the results' own
    columns, and the IIIF columns when canvases are classified) is renamed record_<name>. A missing key
    column, an empty or a repeated key is refused."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"records file not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            table = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"{path} is not a readable CSV file (UTF-8 with a header row): {error}") from None
    if key not in header:
        raise ValueError(f"{path} has no column {key!r} to match artworks by. Received: key={key!r}, "
                         f"columns={header}")
    taken = set(reserved)
    names = {column: f"{CLASHING_PREFIX}{column}" if column in taken or column.startswith("p_") else column
             for column in header}
    rows: dict[str, dict[str, str]] = {}
    for line, row in enumerate(table, start=2):
        value = (row.get(key) or "").strip()
        if not value:
            raise ValueError(f"{path}, line {line}: the key column {key!r} is empty; every record needs its key.")
        if value in rows:
            raise ValueError(f"{path}, line {line}: key {value!r} appears twice in column {key!r}; a key names "
                             "one record.")
        rows[value] = {names[column]: row.get(column) or "" for column in header}
    return Records(path=path, key=key, columns=[names[column] for column in header], rows=rows)


@dataclass
class RecordMatch:
    """How the artworks of one run met the records, filled in as the artworks pass."""

    records: Records
    # Key values of the records an artwork was matched to.
    matched: set[str] = field(default_factory=set)
    # The artworks (their names) no record was found for.
    artworks_without_record: list[str] = field(default_factory=list)

    @property
    def records_without_artwork(self) -> list[str]:
        """Key values of the records no artwork matched, in the CSV's order."""
        return [value for value in self.records.rows if value not in self.matched]

    def lines(self) -> list[str]:
        """The unmatched on both sides, one line each, for a person."""
        key = self.records.key
        return ([f"no record in {self.records.path.name} for artwork {name}" for name in self.artworks_without_record]
                + [f"no artwork for record {key}={value}" for value in self.records_without_artwork])


def key_of(artwork: "Artwork", key: str) -> str:
    """The artwork's value for the key: its metadata field of that name, else its name."""
    wanted = normalise_label(key)
    for label, value in artwork.metadata.items():
        if normalise_label(label) == wanted and value:
            return value.strip()
    return artwork.name


def join_records(artworks: Iterable["Artwork"], match: RecordMatch) -> Iterator["Artwork"]:
    """The artworks with their record's columns added to their details (empty cells without a record);
    `match` records who met whom."""
    empty = dict.fromkeys(match.records.columns, "")
    for artwork in artworks:
        value = key_of(artwork, match.records.key)
        record = match.records.rows.get(value)
        if record is None:
            match.artworks_without_record.append(value)
        else:
            match.matched.add(value)
        yield replace(artwork, details={**artwork.details, **(record or empty)})
