"""Results out, besides the CSV: a JSON file of verdicts a collection system can import, and a IIIF
annotation page per manifest (W3C Web Annotation, motivation `classifying`, one per canvas) that a
IIIF viewer shows beside the canvases.

Every verdict says which model gave it (name and SHA-256 of the file), in which classification (run
id) and when, so a verdict found later in a collection system can be traced and compared.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from artcnn.images import sha256_file
from artcnn.prediction import ArtworkResult
from artcnn.storage import atomic_write_json

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"


@dataclass(frozen=True)
class RunInfo:
    """What every exported verdict says about the classification that gave it."""

    # The model's name as people know it (its file name, or its label in the workspace).
    model: str
    # SHA-256 of the model file; None for a model that was never a file.
    model_sha256: str | None
    # This classification's id, unique across runs and machines.
    run_id: str
    # When it ran (ISO 8601, UTC).
    date: str
    # The records column that identifies an artwork in the collection system, when records were joined.
    key: str | None = None


def new_run(model: str, model_file: str | os.PathLike | None = None, key: str | None = None) -> RunInfo:
    """A RunInfo for a classification starting now."""
    now = datetime.now(timezone.utc)
    return RunInfo(model=model, model_sha256=sha256_file(model_file) if model_file else None,
                   run_id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", date=now.isoformat(timespec="seconds"),
                   key=key)


def identifier_of(result: ArtworkResult, run: RunInfo) -> str:
    """The collection's key when records were joined, else the IIIF canvas, else the file."""
    if run.key and result.details.get(run.key):
        return result.details[run.key]
    return result.details.get("identifier") or result.file


def verdict(result: ArtworkResult, run: RunInfo) -> dict:
    """One artwork's JSON object."""
    return {
        "identifier": identifier_of(result, run),
        "source": result.details.get("image_url") or result.file,
        "verdict": result.label,
        "probabilities": result.probabilities,
        "confidence": result.confidence,
        # An unreadable artwork has no verdict to review: `error` is what to look at.
        "review": None if result.error else result.review,
        "error": result.error,
        "model": {"name": run.model, "sha256": run.model_sha256},
        "run_id": run.run_id,
        "date": run.date,
        "details": result.details,
    }


def write_json(results: Iterable[ArtworkResult], path: str | os.PathLike, run: RunInfo) -> Path:
    """All verdicts of one classification as {"run": ..., "artworks": [one object per artwork]}."""
    artworks = [verdict(result, run) for result in results]
    return atomic_write_json(Path(path), {"run_id": run.run_id, "date": run.date,
                                          "model": {"name": run.model, "sha256": run.model_sha256},
                                          "artworks": artworks})


def annotation(result: ArtworkResult, run: RunInfo, number: int) -> dict:
    """A W3C Web Annotation classifying one canvas: the verdict, then the probabilities in words."""
    odds = ", ".join(f"p({name}) {p:.3f}" for name, p in result.probabilities.items())
    manifest = result.details.get("manifest", "")
    target = {"id": result.details["canvas"], "type": "Canvas"}
    if manifest.startswith(("http://", "https://")):
        target["partOf"] = [{"id": manifest, "type": "Manifest"}]
    return {
        "id": f"urn:artcnn:{run.run_id}:annotation:{number}",
        "type": "Annotation",
        "motivation": "classifying",
        "created": run.date,
        "creator": {"type": "Software", "name": f"artcnn ({run.model})"},
        "body": [
            {"type": "TextualBody", "purpose": "classifying", "value": result.label, "format": "text/plain"},
            {"type": "TextualBody", "purpose": "describing", "format": "text/plain", "language": "en",
             "value": f"{odds}{' · needs a person' if result.review else ''} · model {run.model} · run {run.run_id}"},
        ],
        "target": target,
    }


def annotation_pages(results: Iterable[ArtworkResult], run: RunInfo) -> dict[str, dict]:
    """Manifest → its annotation page, with one annotation per classified canvas (in order). Artworks
    that are not canvases, or that have no verdict (their error is in the CSV and JSON), get none."""
    pages: dict[str, dict] = {}
    for result in results:
        manifest = result.details.get("manifest")
        if not manifest or not result.details.get("canvas") or result.label is None:
            continue
        page = pages.setdefault(manifest, {
            "@context": PRESENTATION_CONTEXT,
            "id": f"urn:artcnn:{run.run_id}:page:{len(pages) + 1}",
            "type": "AnnotationPage",
            "label": {"en": [f"artcnn verdicts on {result.details.get('manifest_label') or manifest}"]},
            "items": [],
        })
        page["items"].append(annotation(result, run, len(page["items"]) + 1))
    return pages


def write_annotations(results: Iterable[ArtworkResult], folder: str | os.PathLike, run: RunInfo) -> list[Path]:
    """One annotation page per manifest in `folder`, named after the manifest; the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for manifest, page in annotation_pages(results, run).items():
        stem = re.sub(r"[^\w.-]+", "-", Path(manifest.split("?")[0].rstrip("/")).stem).strip("-")[:40] or "manifest"
        digest = hashlib.sha256(manifest.encode("utf-8")).hexdigest()[:8]
        written.append(atomic_write_json(folder / f"{stem}-{digest}.annotations.json", page))
    return written
