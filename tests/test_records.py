from pathlib import Path

import pytest

from artcnn.records import RecordMatch, join_records, key_of, read_records
from artcnn.sources import Artwork


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_records_join_by_file_stem_and_both_kinds_of_unmatched_are_listed(tmp_path):
    records = read_records(write(tmp_path / "r.csv", "accession_number,title,label\nA1,Dawn,x\nA2,Dusk,y\nA3,Noon,z\n"),
                           "accession_number", reserved=["label", "file"])
    assert records.columns == ["accession_number", "title", "record_label"]
    match = RecordMatch(records)
    artworks = [Artwork(path=tmp_path / "A1.png", name="A1"), Artwork(path=tmp_path / "B9.png", name="B9"),
                Artwork(path=tmp_path / "A3.jpg", name="A3", details={"canvas": "c"})]
    joined = list(join_records(artworks, match))
    assert [a.details.get("title") for a in joined] == ["Dawn", "", "Noon"]
    assert joined[2].details == {"canvas": "c", "accession_number": "A3", "title": "Noon", "record_label": "z"}
    assert match.artworks_without_record == ["B9"]
    assert match.records_without_artwork == ["A2"]
    assert match.lines() == ["no record in r.csv for artwork B9", "no artwork for record accession_number=A2"]


def test_an_artworks_own_metadata_field_is_its_key_before_its_name():
    artwork = Artwork(path=None, name="recto", metadata={"accession number": " 1921.7 ", "title": "x"})
    assert key_of(artwork, "accession_number") == "1921.7"
    assert key_of(artwork, "Object-Number") == "recto"


@pytest.mark.parametrize("text, key, message", [
    ("id,title\n1,a\n", "accession_number", "has no column 'accession_number'.*columns=\\['id', 'title'\\]"),
    ("id,title\n1,a\n1,b\n", "id", "line 3: key '1' appears twice"),
    ("id,title\n,a\n", "id", "line 2: the key column 'id' is empty"),
])
def test_bad_records_are_refused_naming_the_file_and_the_line(tmp_path, text, key, message):
    with pytest.raises(ValueError, match=message):
        read_records(write(tmp_path / "records.csv", text), key)


def test_a_missing_records_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="records file not found: .*absent.csv"):
        read_records(tmp_path / "absent.csv", "id")
