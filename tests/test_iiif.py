import pytest
from iiif_server import LIMIT_PIXELS, fetch_config

from artcnn.config import ImageLimits, TilingConfig
from artcnn.fetching import Fetcher, FetchError
from artcnn.iiif import (
    ImageService,
    image_request,
    needed_size,
    parse_manifest,
    read_manifest,
    read_service,
    text_of,
)
from artcnn.sources import iiif_artworks, read_canvases

TILING = TilingConfig(tile_size=32, long_side=80)
LIMITS = ImageLimits(max_pixels=LIMIT_PIXELS)


def test_v2_and_v3_manifests_become_canvases_with_labels_and_metadata(iiif_server, tmp_path):
    fetcher = Fetcher(fetch_config(tmp_path))
    v2 = read_manifest(f"{iiif_server.url}/v2/manifest.json", fetcher)
    v3 = read_manifest(f"{iiif_server.url}/v3/manifest.json", fetcher)
    assert [canvas.id for canvas in v2] == [f"{iiif_server.url}/v2/canvas/{n}" for n in (1, 2, 3)]
    assert {(c.title, c.creator, c.date) for c in v2} == {("Evening Study", "A. Painter", "1921")}
    assert v2[0].manifest_label == "Harvard-like object (v2.1)" and v2[0].label == "recto"
    assert v2[0].service == f"{iiif_server.url}/image2/dark" and v2[2].service is None
    assert v2[2].image == f"{iiif_server.url}/files/light.png"
    assert v2[0].metadata["object number"] == "1921.7"
    assert [(c.title, c.creator, c.date) for c in v3] == [
        ("Bright Thing", "B. Coder", "2019"), ("Slow Thing", "B. Coder", "2019"), ("Huge Thing", "B. Coder", "2019")]
    assert v3[0].label == "canvas 1" and v3[0].manifest_label == "A museum's v3 manifest"
    assert v3[0].service == f"{iiif_server.url}/image3/light"


def test_a_manifest_file_is_read_like_a_url(iiif_server, tmp_path):
    fetcher = Fetcher(fetch_config(tmp_path))
    saved = tmp_path / "manifest.json"
    saved.write_bytes(fetcher.read(f"{iiif_server.url}/v3/manifest.json"))
    assert [c.id for c in read_manifest(saved, fetcher)] == [c.id for c in read_manifest(
        f"{iiif_server.url}/v3/manifest.json", fetcher)]


@pytest.mark.parametrize("document, reason", [
    ({"collection": "ours"}, "no IIIF Presentation"),
    ({"@context": "http://iiif.io/api/presentation/3/context.json", "type": "Collection"}, "collection"),
    ([1, 2], "JSON object"),
    ({"@context": "http://iiif.io/api/presentation/3/context.json", "type": "Manifest", "items": []}, "no canvases"),
])
def test_documents_that_are_not_manifests_are_refused_in_words(document, reason):
    with pytest.raises(ValueError, match=reason):
        parse_manifest(document, "x.json")


def test_junk_among_a_manifests_entries_is_passed_over():
    v2 = {"@context": "http://iiif.io/api/presentation/2/context.json", "label": "x",
          "sequences": [{"canvases": [None, "c0", {"@id": "c1", "images": ["junk", {"resource": {"@id": "i.png"}}]},
                                      {"@id": "c2", "images": [None]}]}]}
    assert [(c.id, c.image, c.error) for c in parse_manifest(v2, "m.json")] == [
        ("c1", "i.png", None), ("c2", None, "the canvas has no image")]
    v3 = {"@context": "http://iiif.io/api/presentation/3/context.json", "type": "Manifest",
          "items": [{"id": "c1", "items": [None, {"items": ["x", {"body": [{"id": "i.jpg", "type": "Image"}]}]}]}]}
    assert [(c.id, c.image) for c in parse_manifest(v3, "m.json")] == [("c1", "i.jpg")]


def test_unreadable_manifests_are_one_canvas_with_an_error(iiif_server, tmp_path):
    fetcher = Fetcher(fetch_config(tmp_path))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for source, reason in ((f"{iiif_server.url}/not-iiif.json", "not a IIIF manifest"),
                           (f"{iiif_server.url}/gone.json", "HTTP 404"),
                           (broken, "not JSON"),
                           (tmp_path / "absent.json", "manifest not read")):
        canvases = read_manifest(source, fetcher)
        assert len(canvases) == 1 and reason in canvases[0].error and canvases[0].manifest == str(source)


def test_text_of_reads_v2_and_v3_values():
    assert text_of({"fr": ["Titre"], "en": ["Title"]}) == "Title"
    assert text_of([{"@value": "a", "@language": "en"}, "b"]) == "a; b"
    assert text_of({"none": ["1921"]}) == "1921"


def test_the_size_asked_for_is_what_tiling_needs_not_the_original():
    level1 = ImageService("https://x/iiif/a", 3, 1, 4000, 3000)
    assert needed_size(4000, 3000, TilingConfig(long_side=1000), ImageLimits()) == (1000, 750)
    assert image_request(level1, TilingConfig(long_side=1000), ImageLimits()) == \
        "https://x/iiif/a/full/1000,/0/default.jpg"
    # Native resolution is needed when tiles are cut at native size; v3 calls the whole image "max".
    assert image_request(level1, TilingConfig(), ImageLimits()) == "https://x/iiif/a/full/max/0/default.jpg"
    assert image_request(ImageService("b", 2, 2, 40, 30), TilingConfig(), ImageLimits()) == "b/full/full/0/default.jpg"
    # Over the decode limit, the size load_artwork would reduce it to.
    assert needed_size(4000, 3000, TilingConfig(), ImageLimits(max_pixels=1_200_000)) == (1265, 949)
    level0 = ImageService("c", 3, 0, 4000, 3000, ((500, 375), (1000, 750), (2000, 1500)))
    assert image_request(level0, TilingConfig(long_side=800), ImageLimits()) == "c/full/1000,750/0/default.jpg"
    assert image_request(level0, TilingConfig(long_side=3000), ImageLimits(max_pixels=4_000_000)) == \
        "c/full/2000,1500/0/default.jpg"
    with pytest.raises(FetchError, match="over the limit"):
        image_request(level0, TilingConfig(), ImageLimits(max_pixels=100_000))


def test_canvases_are_fetched_at_the_needed_size_with_errors_in_place(iiif_server, tmp_path):
    fetcher = Fetcher(fetch_config(tmp_path))
    canvases = read_canvases([f"{iiif_server.url}/v2/manifest.json", f"{iiif_server.url}/v3/manifest.json"], fetcher)
    artworks = list(iiif_artworks(canvases, fetcher, TILING, LIMITS))
    assert [a.details["canvas"] for a in artworks] == [c.id for c in canvases]
    errors = [a.error for a in artworks]
    assert errors[0] is None and errors[2] is None and errors[3] is None
    assert "HTTP 404" in errors[1]
    assert "no answer within 0.5 s" in errors[4] and "2 attempts" in errors[4]
    assert "over the limit of 20,000" in errors[5]
    # Level 0 (v2): its listed 80×60; level 1 (v3): a width; a plain image as published.
    assert artworks[0].details["image_url"] == f"{iiif_server.url}/image2/dark/full/80,/0/default.jpg"
    assert artworks[3].details["image_url"] == f"{iiif_server.url}/image3/light/full/60,/0/default.jpg"
    assert artworks[2].details["image_url"] == f"{iiif_server.url}/files/light.png"
    assert iiif_server.count("/full/full/") == 0 and iiif_server.count("/full/max/") == 0
    assert all(a.path.is_file() for a in artworks if a.error is None)


def test_a_second_run_fetches_nothing_it_has(iiif_server, tmp_path):
    config = fetch_config(tmp_path)
    urls = [f"{iiif_server.url}/v2/manifest.json", f"{iiif_server.url}/v3/manifest.json"]
    first = list(iiif_artworks(read_canvases(urls, Fetcher(config)), Fetcher(config), TILING, LIMITS))
    fetched = sum(iiif_server.requests.values())
    fresh = Fetcher(config)
    again = list(iiif_artworks(read_canvases(urls, fresh), fresh, TILING, LIMITS))
    assert [a.path for a in again] == [a.path for a in first]
    # Only the failures are asked again: the 404 (once, never retried) and the slow one (twice).
    assert sum(iiif_server.requests.values()) - fetched == 1 + 2


def test_info_json_that_is_not_image_api_is_an_error(iiif_server, tmp_path):
    with pytest.raises(FetchError, match="not a IIIF Image API info.json"):
        read_service(f"{iiif_server.url}/not-iiif", Fetcher(fetch_config(tmp_path)))
