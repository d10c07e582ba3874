"""IIIF in: Presentation manifests (v2.1 and v3) read into canvases, and each canvas's image fetched
through the Image API at the size the tiles need.

A museum's manifest lists canvases, each painted by an image that an Image API service serves at any
size its compliance level allows (`{base}/{region}/{size}/{rotation}/{quality}.{format}`, described by
`{base}/info.json`). Tiling only needs the artwork at the size `load_artwork` and `fit_long_side`
would reduce it to, so that size is asked for, never the full original when the service offers less.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcnn.config import ImageLimits, TilingConfig
from artcnn.fetching import Fetcher, FetchError

# Metadata labels (lower case) read into the title, creator and date columns, first found wins.
METADATA_FIELDS = {
    "title": ("title", "object title", "name"),
    "creator": ("creator", "artist", "author", "maker", "people", "artist/maker"),
    "date": ("date", "dated", "date created", "creation date", "object date"),
}


@dataclass(frozen=True)
class Canvas:
    """One canvas of a manifest: what to fetch and the columns it carries. `error` says why a canvas
    (or a whole manifest that could not be read) has nothing to classify."""

    # The manifest's URL or file, as given.
    manifest: str
    manifest_label: str = ""
    # The canvas's id (URI); empty when the manifest itself could not be read.
    id: str = ""
    label: str = ""
    title: str = ""
    creator: str = ""
    date: str = ""
    # Every metadata pair of the manifest and the canvas (the canvas's win), labels in lower case.
    metadata: dict[str, str] = field(default_factory=dict)
    # The Image API service's base URL (no trailing slash), or None for a plain image.
    service: str | None = None
    # The painted image's own URL (used when there is no service).
    image: str | None = None
    error: str | None = None


def is_url(source: str | os.PathLike) -> bool:
    return str(source).lower().startswith(("http://", "https://"))


def read_manifest(source: str | os.PathLike, fetcher: Fetcher) -> list[Canvas]:
    """The canvases of a manifest URL or file; a manifest that cannot be read becomes one canvas with
    its `error`, so that it is reported in its place and the other manifests go on."""
    source = str(source)
    try:
        text = fetcher.read(source) if is_url(source) else Path(source).read_bytes()
    except FetchError as error:
        return [Canvas(manifest=source, error=f"manifest not fetched: {error.reason}")]
    except OSError as error:
        return [Canvas(manifest=source, error=f"manifest not read: {error.strerror or error}")]
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return [Canvas(manifest=source, error=f"not a IIIF manifest: not JSON ({error})")]
    try:
        return parse_manifest(document, source)
    except ValueError as error:
        return [Canvas(manifest=source, error=f"not a IIIF manifest: {error}")]


def presentation_version(document: Any) -> int:
    """2 or 3, from the @context (or the shape when a manifest leaves it out); ValueError otherwise."""
    if not isinstance(document, dict):
        raise ValueError(f"a JSON object is expected. Received: {type(document).__name__}")
    context = json.dumps(document.get("@context", ""))
    kind = document.get("type") or document.get("@type")
    if kind in ("Collection", "sc:Collection"):
        raise ValueError("a IIIF collection, not a manifest: give the manifests it lists")
    if "presentation/3" in context or kind == "Manifest":
        return 3
    if "presentation/2" in context or kind == "sc:Manifest":
        return 2
    raise ValueError(f"no IIIF Presentation @context or Manifest type (keys: {', '.join(sorted(document)[:8])})")


def parse_manifest(document: Any, source: str) -> list[Canvas]:
    """The canvases of a parsed Presentation manifest, v2.1 or v3."""
    version = presentation_version(document)
    label = text_of(document.get("label"))
    shared = metadata_of(document.get("metadata"))
    if version == 2:
        sequences = _objects(document.get("sequences"))
        canvases = _objects(sequences[0].get("canvases")) if sequences else []
    else:
        canvases = _objects(document.get("items"))
    if not canvases:
        raise ValueError("the manifest lists no canvases")
    return [_canvas(canvas, version, source, label, shared) for canvas in canvases]


def _canvas(canvas: dict, version: int, source: str, manifest_label: str, shared: dict[str, str]) -> Canvas:
    metadata = {**shared, **metadata_of(canvas.get("metadata"))}
    columns = {name: next((metadata[key] for key in keys if metadata.get(key)), "")
               for name, keys in METADATA_FIELDS.items()}
    canvas_id = str(canvas.get("@id") or canvas.get("id") or "")
    body = _painting_v2(canvas) if version == 2 else _painting_v3(canvas)
    service = _service_of(body) if body else None
    image = (body.get("@id") or body.get("id")) if body else None
    return Canvas(manifest=source, manifest_label=manifest_label, id=canvas_id, label=text_of(canvas.get("label")),
                  metadata=metadata, service=service, image=image,
                  error=None if service or image else "the canvas has no image", **columns)


def _objects(value: Any) -> list[dict]:
    """The JSON objects of a list (a manifest written by hand may hold strings or nulls among them)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _painting_v2(canvas: dict) -> dict | None:
    images = _objects(canvas.get("images"))
    resource = images[0].get("resource") if images else None
    return resource if isinstance(resource, dict) else None


def _painting_v3(canvas: dict) -> dict | None:
    for page in _objects(canvas.get("items")):
        for annotation in _objects(page.get("items")):
            if annotation.get("motivation", "painting") != "painting":
                continue
            body = annotation.get("body")
            body = body[0] if isinstance(body, list) and body else body
            if isinstance(body, dict) and body.get("type") == "Choice":
                body = (body.get("items") or [None])[0]
            if isinstance(body, dict):
                return body
    return None


def _service_of(body: dict) -> str | None:
    services = body.get("service") or []
    for service in services if isinstance(services, list) else [services]:
        if isinstance(service, dict):
            kind = f"{service.get('type') or service.get('@type') or ''} {json.dumps(service.get('@context', ''))} " \
                   f"{json.dumps(service.get('profile', ''))}"
            if "ImageService" in kind or "iiif.io/api/image" in kind or "level" in kind:
                base = service.get("id") or service.get("@id")
                if base:
                    return str(base).rstrip("/")
    return None


def text_of(value: Any) -> str:
    """A label or value as one string: plain (v2), {"@value"} (v2) or a language map (v3, English first)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(part for part in (text_of(item) for item in value) if part)
    if isinstance(value, dict):
        if "@value" in value:
            return text_of(value["@value"])
        for language in ("en", "none", *value):
            if language in value:
                return text_of(value[language])
    return str(value)


def metadata_of(pairs: Any) -> dict[str, str]:
    """A manifest's or canvas's metadata list as {lower-case label: value}."""
    found = {}
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, dict):
            label = text_of(pair.get("label")).strip().lower()
            if label:
                found[label] = re.sub(r"<[^>]+>", "", text_of(pair.get("value"))).strip()
    return found


@dataclass(frozen=True)
class ImageService:
    """What an Image API info.json says about one image."""

    base: str
    # 2 or 3 (Image API version).
    version: int
    # Compliance level 0-2: level 0 serves only the `sizes` it lists (and the full image).
    level: int
    width: int
    height: int
    # (width, height) pairs the server has ready, as listed in info.json.
    sizes: tuple[tuple[int, int], ...] = ()


def read_service(base: str, fetcher: Fetcher) -> ImageService:
    """The service's info.json; FetchError for a dead link or a document that is not one."""
    url = f"{base}/info.json"
    content = fetcher.read(url)
    try:
        info = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FetchError(url, "not a IIIF Image API info.json (not JSON)") from None
    try:
        width, height = int(info["width"]), int(info["height"])
        sizes = tuple((int(size["width"]), int(size["height"])) for size in _objects(info.get("sizes"))
                      if int(size["width"]) > 0 and int(size["height"]) > 0)
    except (KeyError, TypeError, ValueError):
        raise FetchError(url, "not a IIIF Image API info.json (no width and height)") from None
    if width < 1 or height < 1:
        raise FetchError(url, f"the image API says the image is {width}×{height} pixels")
    context = json.dumps(info.get("@context", "")) + str(info.get("type", ""))
    version = 3 if "image/3" in context or "ImageService3" in context else 2
    match = re.search(r"level([012])", json.dumps(info.get("profile", "")))
    return ImageService(base, version, int(match.group(1)) if match else 0, width, height, sizes)


def needed_size(width: int, height: int, tiling: TilingConfig, limits: ImageLimits) -> tuple[int, int]:
    """The size an artwork of width × height is tiled at: reduced to `limits.decode_pixels` as
    `load_artwork` would, and to `tiling.long_side` as `fit_long_side` would; never larger than it is."""
    scale = 1.0
    if width * height > limits.decode_pixels:
        scale = math.sqrt(limits.decode_pixels / (width * height))
    if tiling.long_side is not None:
        scale = min(scale, tiling.long_side / max(width, height))
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def image_request(service: ImageService, tiling: TilingConfig, limits: ImageLimits) -> str:
    """The Image API URL of the whole image at the size the tiles need, or the nearest the service has.

    Level 1 and 2 services are asked for a width (`w,`, which both API versions support from level 1);
    a level 0 service for the smallest of its listed sizes that covers the need, else its largest.
    FetchError when every size it offers is over `limits.max_pixels`.
    """
    want_w, want_h = needed_size(service.width, service.height, tiling, limits)
    full = "max" if service.version == 3 else "full"
    if (want_w, want_h) == (service.width, service.height) or service.level >= 1:
        size, pixels = (full, service.width * service.height) if want_w == service.width else (f"{want_w},", 0)
    else:
        offered = sorted({*service.sizes, (service.width, service.height)}, key=lambda s: s[0] * s[1])
        allowed = [s for s in offered if s[0] * s[1] <= limits.max_pixels] or offered[:1]
        chosen = next((s for s in allowed if s[0] >= want_w and s[1] >= want_h), allowed[-1])
        pixels = chosen[0] * chosen[1]
        is_full = chosen == (service.width, service.height)
        size = full if is_full else (f"{chosen[0]},{chosen[1]}" if service.version == 3 else f"{chosen[0]},")
    if pixels > limits.max_pixels:
        raise FetchError(f"{service.base}/info.json",
                         f"image is {service.width}×{service.height} = {service.width * service.height:,} pixels, "
                         f"over the limit of {limits.max_pixels:,}, and the service offers no smaller size")
    return f"{service.base}/full/{size}/0/default.jpg"


def fetch_image(canvas: Canvas, fetcher: Fetcher, tiling: TilingConfig, limits: ImageLimits) -> tuple[Path, str]:
    """The canvas's image as a local (cached) file, and the URL it came from; FetchError if it cannot be had."""
    if canvas.service:
        url = image_request(read_service(canvas.service, fetcher), tiling, limits)
    elif canvas.image:
        # No service: the image as published; load_artwork refuses it if it is over the pixel limit.
        url = canvas.image
    else:
        raise FetchError(canvas.id, canvas.error or "the canvas has no image")
    return fetcher.fetch(url), url
