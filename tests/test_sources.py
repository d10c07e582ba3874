import badfiles
import pytest
from iiif_server import LIMIT_PIXELS, fetch_config, picture

keras = pytest.importorskip("keras")

from artcnn.config import ImageLimits, PredictConfig  # noqa: E402
from artcnn.records import read_records  # noqa: E402
from artcnn.sources import IIIF_COLUMNS, classify_sources  # noqa: E402
from artcnn.storage import save_model  # noqa: E402

# Tiles of 32 px from artworks brought to a long side of 80 px, as the IIIF images are asked for.
METADATA = {"classes": ["han", "kom"], "input_size": 32,
            "tiling": {"tile_size": 32, "long_side": 80, "blank_threshold": 0.0}}
CONFIG = PredictConfig(limits=ImageLimits(max_pixels=LIMIT_PIXELS))


@pytest.fixture(scope="module")
def brightness_model(tmp_path_factory):
    """p(kom) rises with a tile's brightness: the dark image is han, the light one kom."""
    return save_model(badfiles.brightness_model(keras), tmp_path_factory.mktemp("model") / "bright.keras", METADATA)


def test_every_canvas_is_an_artwork_with_its_columns_and_errors_in_place(brightness_model, iiif_server, tmp_path):
    local = tmp_path / "local_dark.png"
    picture("dark").save(local)
    manifests = [f"{iiif_server.url}/v2/manifest.json", f"{iiif_server.url}/not-iiif.json", f"{iiif_server.url}/v3/manifest.json"]
    events = []
    stream = classify_sources(brightness_model, [local], manifests, CONFIG, fetch=fetch_config(tmp_path),
                              progress=events.append)
    results = list(stream)
    assert stream.total == len(results) == 1 + 3 + 1 + 3 and stream.columns == list(IIIF_COLUMNS)
    assert [r.details.get("canvas") for r in results] == [
        None, *[f"{iiif_server.url}/v2/canvas/{n}" for n in (1, 2, 3)], "",
        *[f"{iiif_server.url}/v3/canvas/{n}" for n in (1, 2, 3)]]
    assert [r.label for r in results] == ["han", "han", None, "kom", None, "kom", None, None]
    errors = [r.error or "" for r in results]
    assert "HTTP 404" in errors[2] and "not a IIIF manifest" in errors[4]
    assert "no answer within" in errors[6] and "over the limit" in errors[7]
    assert results[1].details["title"] == "Evening Study" and results[1].details["creator"] == "A. Painter"
    assert results[5].details["manifest_label"] == "A museum's v3 manifest" and results[5].details["date"] == "2019"
    assert results[4].details["manifest"] == f"{iiif_server.url}/not-iiif.json"
    # Each result, the unavailable ones too, reaches the progress callback once, counted against the total.
    classified = [e for e in events if e.what == "classifying"]
    assert [e.done for e in classified] == list(range(1, 9)) and {e.total for e in classified} == {8}
    assert [e.payload for e in classified] == results


def test_records_join_canvases_by_their_metadata_and_files_by_their_stem(brightness_model, iiif_server, tmp_path):
    local = tmp_path / "2001.1.png"
    picture("light").save(local)
    (tmp_path / "records.csv").write_text("object_number,department,title\n1921.7,Paintings,Evening\n"
                                          "2001.1,Prints,Light\n1999.9,Drawings,Lost\n", encoding="utf-8")
    records = read_records(tmp_path / "records.csv", "object_number", reserved=IIIF_COLUMNS)
    stream = classify_sources(brightness_model, [local], [f"{iiif_server.url}/v2/manifest.json"], CONFIG,
                              fetch=fetch_config(tmp_path), records=records)
    results = list(stream)
    assert stream.columns == [*IIIF_COLUMNS, "object_number", "department", "record_title"]
    assert [r.details["department"] for r in results] == ["Prints", "Paintings", "Paintings", "Paintings"]
    assert stream.match.records_without_artwork == ["1999.9"]
    assert stream.match.artworks_without_record == []


def test_a_classification_given_a_catalogue_keeps_every_row_with_its_columns(brightness_model, iiif_server, tmp_path):
    from artcnn.catalogue import open_catalogue

    catalogue = open_catalogue(tmp_path / "catalogue.sqlite")
    stream = classify_sources(brightness_model, (), [f"{iiif_server.url}/v2/manifest.json"], CONFIG,
                              fetch=fetch_config(tmp_path), catalogue=catalogue, source="a IIIF manifest")
    results = list(stream)
    stored = catalogue.results(stream.record)
    assert [row["details"] for row in stored] == [r.details for r in results]
    assert [row["error"] for row in stored] == [r.error for r in results] and stored[1]["error"]
    assert [row["label"] for row in stored] == ["han", None, "kom"]
    entry = next(e for e in catalogue.classifications() if e["id"] == stream.record)
    assert entry["finished"] and entry["source"] == "a IIIF manifest" and entry["model"] == brightness_model.stem


def test_a_second_run_fetches_nothing_twice(brightness_model, iiif_server, tmp_path):
    manifests = [f"{iiif_server.url}/v2/manifest.json"]
    first = [r.probabilities for r in classify_sources(brightness_model, (), manifests, CONFIG,
                                                       fetch=fetch_config(tmp_path))]
    asked = iiif_server.count("")
    second = [r.probabilities for r in classify_sources(brightness_model, (), manifests, CONFIG,
                                                        fetch=fetch_config(tmp_path))]
    assert second == first
    assert iiif_server.count("") - asked == 1  # only the broken link is asked again
    assert iiif_server.count("/image2/missing/info.json") == 2


def test_files_left_uncounted_stream_without_a_total(brightness_model, tmp_path):
    for name in ("dark", "light"):
        picture(name).save(tmp_path / f"{name}.png")
    events = []
    stream = classify_sources(brightness_model, [tmp_path], config=CONFIG, count_files=False, progress=events.append)
    assert stream.total is None and [r.label for r in stream] == ["han", "kom"]
    assert [(e.done, e.total) for e in events] == [(1, None), (2, None)]


def test_nothing_to_classify_is_refused(brightness_model):
    with pytest.raises(ValueError, match="Nothing to classify"):
        classify_sources(brightness_model)
