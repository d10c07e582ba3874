import hashlib
import json

from artcnn.exports import annotation_pages, new_run, write_annotations, write_json
from artcnn.prediction import ArtworkResult


def result(file: str, label: str | None, p_kom: float | None, error: str | None = None, **details) -> ArtworkResult:
    probabilities = {} if p_kom is None else {"han": 1 - p_kom, "kom": p_kom}
    return ArtworkResult(file=file, sha256=None, width=None, height=None, tiles=0 if error else 4,
                         probabilities=probabilities, label=label,
                         confidence=None if p_kom is None else max(p_kom, 1 - p_kom),
                         error=error, review=p_kom is not None and 0.3 < p_kom < 0.7, details=details)


def canvas(n: int, manifest: str, **more) -> dict:
    return {"identifier": f"{manifest}/canvas/{n}", "canvas": f"{manifest}/canvas/{n}", "manifest": manifest,
            "manifest_label": "Objects", "image_url": f"https://img.example/{n}.jpg", **more}


RESULTS = [
    result("/cache/a", "kom", 0.9, **canvas(1, "https://m.example/one")),
    result("https://m.example/one/canvas/2", None, None, error="image not fetched: HTTP 404",
           **canvas(2, "https://m.example/one")),
    result("/cache/c", "han", 0.4, **canvas(1, "https://m.example/two", accession_number="1921.7")),
    result("/local/d.png", "han", 0.1),
]


def test_json_export_has_one_traceable_object_per_artwork(tmp_path):
    model = tmp_path / "model.keras"
    model.write_bytes(b"weights")
    run = new_run("model.keras", model, key="accession_number")
    document = json.loads(write_json(RESULTS, tmp_path / "out.json", run).read_text())
    artworks = document["artworks"]
    assert [a["identifier"] for a in artworks] == ["https://m.example/one/canvas/1", "https://m.example/one/canvas/2",
                                                   "1921.7", "/local/d.png"]
    assert [a["source"] for a in artworks] == ["https://img.example/1.jpg", "https://img.example/2.jpg",
                                               "https://img.example/1.jpg", "/local/d.png"]
    assert [a["verdict"] for a in artworks] == ["kom", None, "han", "han"]
    assert [a["review"] for a in artworks] == [False, None, True, False]
    assert artworks[0]["probabilities"] == {"han": 1 - 0.9, "kom": 0.9} and artworks[1]["error"].endswith("404")
    assert all(a["model"] == {"name": "model.keras", "sha256": hashlib.sha256(b"weights").hexdigest()}
               for a in artworks)
    assert {a["run_id"] for a in artworks} == {run.run_id} and document["run_id"] == run.run_id
    assert all(a["date"] == run.date for a in artworks)
    assert new_run("model.keras", model).run_id != run.run_id


def test_annotation_pages_are_w3c_annotations_classifying_each_canvas(tmp_path):
    run = new_run("demo.keras")
    pages = annotation_pages(RESULTS, run)
    assert list(pages) == ["https://m.example/one", "https://m.example/two"]
    page = pages["https://m.example/one"]
    assert page["@context"] == "http://iiif.io/api/presentation/3/context.json" and page["type"] == "AnnotationPage"
    # The 404 canvas has no verdict to show; the local file is not a canvas.
    assert len(page["items"]) == 1 and len(pages["https://m.example/two"]["items"]) == 1
    item = page["items"][0]
    assert item["type"] == "Annotation" and item["motivation"] == "classifying"
    assert item["target"] == {"id": "https://m.example/one/canvas/1", "type": "Canvas",
                              "partOf": [{"id": "https://m.example/one", "type": "Manifest"}]}
    assert item["body"][0] == {"type": "TextualBody", "purpose": "classifying", "value": "kom", "format": "text/plain"}
    assert "p(kom) 0.900" in item["body"][1]["value"] and run.run_id in item["body"][1]["value"]
    written = write_annotations(RESULTS, tmp_path / "annotations", run)
    assert len(written) == 2 and json.loads(written[0].read_text()) == page
    assert len({path.name for path in written}) == 2
