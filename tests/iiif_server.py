"""A local IIIF server for tests (no internet): a v2.1 and a v3 manifest, a JSON that is not IIIF, and an
Image API over generated images, with one broken link (404), one slow answer and one image over a small
pixel limit. It counts every request by path, so tests can tell what was fetched and how often."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

# Seconds the slow service waits before answering (tests use a much shorter timeout).
SLOW_SECONDS = 3.0
# (width, height, brightness) of each served image: "dark" and "light" classify apart with test models.
IMAGES = {"dark": (160, 120, 20), "light": (120, 160, 235), "huge": (400, 300, 128), "slow": (64, 64, 128)}
# A level-0 service lists the sizes it has ready; "huge" lists only sizes over the tests' pixel limit.
LEVEL0_SIZES = {"dark": [(80, 60), (40, 30)], "huge": [(200, 150)]}
LIMIT_PIXELS = 20_000


def picture(name: str) -> Image.Image:
    width, height, level = IMAGES[name]
    noise = np.random.default_rng(len(name)).integers(-15, 16, (height, width, 3))
    return Image.fromarray(np.clip(level + noise, 0, 255).astype(np.uint8))


def _v2_manifest(base: str) -> dict:
    def canvas(number: int, resource: dict, label: str) -> dict:
        return {"@id": f"{base}/v2/canvas/{number}", "@type": "sc:Canvas", "label": label, "width": 160,
                "height": 120, "images": [{"@type": "oa:Annotation", "motivation": "sc:painting",
                                           "on": f"{base}/v2/canvas/{number}", "resource": resource}]}

    def service(name: str, level: int) -> dict:
        return {"@id": f"{base}/image2/{name}", "@type": "dctypes:Image",
                "service": {"@context": "http://iiif.io/api/image/2/context.json", "@id": f"{base}/image2/{name}",
                            "profile": f"http://iiif.io/api/image/2/level{level}.json"}}

    return {
        "@context": "http://iiif.io/api/presentation/2/context.json", "@id": f"{base}/v2/manifest.json",
        "@type": "sc:Manifest", "label": "Harvard-like object (v2.1)",
        "metadata": [{"label": "Title", "value": "Evening Study"}, {"label": "People", "value": "A. Painter"},
                     {"label": "Date", "value": "1921"}, {"label": "Object Number", "value": "1921.7"}],
        "sequences": [{"@type": "sc:Sequence", "canvases": [
            canvas(1, service("dark", 0), "recto"),
            canvas(2, service("missing", 1), "verso (broken link)"),
            canvas(3, {"@id": f"{base}/files/light.png", "@type": "dctypes:Image"}, "detail (plain image)"),
        ]}],
    }


def _v3_manifest(base: str) -> dict:
    def canvas(number: int, name: str, level: str, title: str) -> dict:
        canvas_id = f"{base}/v3/canvas/{number}"
        body = {"id": f"{base}/image3/{name}/full/max/0/default.jpg", "type": "Image", "format": "image/jpeg",
                "service": [{"id": f"{base}/image3/{name}", "type": "ImageService3", "profile": level}]}
        return {"id": canvas_id, "type": "Canvas", "label": {"en": [f"canvas {number}"]}, "width": 100, "height": 100,
                "metadata": [{"label": {"en": ["Title"]}, "value": {"en": [title]}}],
                "items": [{"id": f"{canvas_id}/page", "type": "AnnotationPage", "items": [
                    {"id": f"{canvas_id}/painting", "type": "Annotation", "motivation": "painting",
                     "body": body, "target": canvas_id}]}]}

    return {
        "@context": "http://iiif.io/api/presentation/3/context.json", "id": f"{base}/v3/manifest.json",
        "type": "Manifest", "label": {"en": ["A museum's v3 manifest"]},
        "metadata": [{"label": {"en": ["Artist"]}, "value": {"none": ["B. Coder"]}},
                     {"label": {"en": ["Date"]}, "value": {"en": ["2019"]}}],
        "items": [canvas(1, "light", "level1", "Bright Thing"), canvas(2, "slow", "level1", "Slow Thing"),
                  canvas(3, "huge", "level0", "Huge Thing")],
    }


def _info(base: str, name: str, version: int) -> dict:
    width, height, _ = IMAGES[name]
    level = 0 if name in LEVEL0_SIZES else 1
    sizes = [{"width": w, "height": h} for w, h in LEVEL0_SIZES.get(name, [])]
    if version == 2:
        return {"@context": "http://iiif.io/api/image/2/context.json", "@id": f"{base}/image2/{name}",
                "protocol": "http://iiif.io/api/image", "width": width, "height": height, "sizes": sizes,
                "profile": [f"http://iiif.io/api/image/2/level{level}.json"]}
    return {"@context": "http://iiif.io/api/image/3/context.json", "id": f"{base}/image3/{name}",
            "type": "ImageService3", "protocol": "http://iiif.io/api/image", "profile": f"level{level}",
            "width": width, "height": height, "sizes": sizes}


def _scaled(name: str, size: str) -> bytes | None:
    """The image at an Image API size parameter (full, max, w, or w,h), or None for a size not served."""
    image = picture(name)
    match = re.fullmatch(r"(\d+),(\d*)", size)
    if match:
        width = int(match.group(1))
        height = int(match.group(2) or round(image.height * width / image.width))
        if name in LEVEL0_SIZES and (width, height) not in LEVEL0_SIZES[name]:
            return None
        image = image.resize((width, height))
    elif size not in ("full", "max"):
        return None
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def fetch_config(tmp_path, **overrides):
    """A FetchConfig for tests: a short timeout, one retry without pause, a cache in `tmp_path`."""
    from artcnn.fetching import FetchConfig

    return FetchConfig(**{"timeout": 0.5, "retries": 1, "backoff": 0.0, "cache": tmp_path / "cache", **overrides})


class IIIFServer:
    """Use in a `with` block; `url` is its address, `requests` a Counter of paths asked for, `peak` the most
    requests it was answering at once. Every answer waits `delay` seconds first, so that requests overlap."""

    def __init__(self, delay: float = 0.0):
        self.requests: Counter[str] = Counter()
        self.delay = delay
        self.in_flight = self.peak = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                with server._lock:
                    server.requests[self.path] += 1
                    server.in_flight += 1
                    server.peak = max(server.peak, server.in_flight)
                try:
                    time.sleep(server.delay)
                    status, kind, body = server.answer(self.path.split("?")[0])
                finally:
                    # Counted out before the answer is sent: a client that has its answer may ask again at once.
                    with server._lock:
                        server.in_flight -= 1
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the slow service)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, path: str) -> tuple[int, str, bytes]:
        base = self.url
        if path == "/v2/manifest.json":
            return 200, "application/json", json.dumps(_v2_manifest(base)).encode()
        if path == "/v3/manifest.json":
            return 200, "application/json", json.dumps(_v3_manifest(base)).encode()
        if path == "/flaky.json":
            # Busy on the first request, fine after: what a retry is for.
            return (503, "text/plain", b"busy") if self.count(path) == 1 else (200, "application/json", b"{}")
        if path in ("/not-iiif.json", "/not-iiif/info.json"):
            return 200, "application/json", b'{"collection": "ours", "objects": []}'
        if path == "/files/light.png":
            buffer = io.BytesIO()
            picture("light").save(buffer, "PNG")
            return 200, "image/png", buffer.getvalue()
        match = re.fullmatch(r"/image([23])/(\w+)/(info\.json|full/([^/]+)/0/default\.jpg)", path)
        if match and match.group(2) in IMAGES:
            version, name = int(match.group(1)), match.group(2)
            if name == "slow":
                time.sleep(SLOW_SECONDS)
            if match.group(3) == "info.json":
                return 200, "application/json", json.dumps(_info(base, name, version)).encode()
            body = _scaled(name, match.group(4))
            if body is not None:
                return 200, "image/jpeg", body
        return 404, "text/plain", b"not found"

    def count(self, fragment: str) -> int:
        """Requests whose path contains `fragment`."""
        with self._lock:
            return sum(n for path, n in self.requests.items() if fragment in path)

    def __enter__(self) -> "IIIFServer":
        # A short poll lets each test's shutdown return at once rather than after half a second.
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
