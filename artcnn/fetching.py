"""Fetching over HTTP(S) for remote collections: a local cache keyed by URL, retries, a timeout and a
limit on concurrent requests per host, with the standard library only.

Museum image servers throttle or ban clients that open many connections, and a collection of
thousands of canvases is fetched more than once (a new model, a second run), so every response is
kept on disk under the SHA-256 of its URL and a re-run asks the network for nothing it already has.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from artcnn.workspace import root_from_env

USER_AGENT = "artcnn (IIIF client; https://iiif.io)"
# Answers worth asking again: the server was busy or failed for a moment.
RETRIED_STATUSES = (429, 500, 502, 503, 504)


def default_cache() -> Path:
    """The workspace's cache/iiif/ folder (ARTCNN_WORKSPACE, default ./workspace)."""
    return root_from_env() / "cache" / "iiif"


@dataclass(frozen=True)
class FetchConfig:
    """How remote images and manifests are fetched."""

    # Seconds to wait for a server to connect or to send more data before the attempt fails.
    timeout: float = 30.0
    # Further attempts after a failed one (no answer, timeout, 429 or 5xx); a 404 is never asked again.
    retries: int = 2
    # Seconds before the first retry, doubled for each further one.
    backoff: float = 1.0
    # At most this many requests in flight to one host at a time: image servers throttle heavy clients.
    per_host: int = 4
    # Requests in flight to all hosts together.
    workers: int = 8
    # Folder of responses kept by URL, so a re-run fetches nothing twice.
    cache: Path = field(default_factory=default_cache)
    # A response larger than this many bytes is refused, not stored (a runaway or hostile server).
    max_bytes: int = 256 * 2**20

    def __post_init__(self) -> None:
        for name, lowest in (("retries", 0), ("backoff", 0), ("per_host", 1), ("workers", 1), ("max_bytes", 1)):
            if getattr(self, name) < lowest:
                raise ValueError(f"{name} must be at least {lowest}. Received: {name}={getattr(self, name)}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive (seconds). Received: timeout={self.timeout}")
        object.__setattr__(self, "cache", Path(self.cache))


class FetchError(ValueError):
    """A URL whose content could not be had, with the reason in words."""

    def __init__(self, url: str, reason: str, transient: bool = False):
        self.url = url
        self.reason = reason
        # Worth asking again: no answer in time, or the server said it is busy or failed (429, 5xx).
        self.transient = transient
        super().__init__(f"{url}: {reason}")


class Fetcher:
    """Cached, retried, per-host-limited GETs; safe to share between threads."""

    def __init__(self, config: FetchConfig = FetchConfig()):
        self.config = config
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def cached_path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.config.cache / digest[:2] / digest

    def fetch(self, url: str) -> Path:
        """The local file holding `url`'s content: from the cache, or fetched into it now."""
        target = self.cached_path(url)
        if target.is_file():
            return target
        content = self._download(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed, so an interrupted run never leaves half a file that looks cached.
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target

    def read(self, url: str) -> bytes:
        return self.fetch(url).read_bytes()

    def _host(self, url: str) -> threading.BoundedSemaphore:
        host = urllib.parse.urlsplit(url).netloc.lower()
        with self._lock:
            return self._hosts.setdefault(host, threading.BoundedSemaphore(self.config.per_host))

    def _download(self, url: str) -> bytes:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            # A manifest naming file:// or ftp:// would make us read local files or other services.
            raise FetchError(url, f"only http and https links are fetched (this one is {scheme or 'not a URL'})")
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            try:
                with self._host(url):
                    return self._get(url)
            except FetchError as error:
                if not error.transient:
                    raise
                if attempt == attempts - 1:
                    raise FetchError(url, f"{error.reason} (after {attempts} attempts)" if attempts > 1
                                     else error.reason, transient=True) from None
            time.sleep(self.config.backoff * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _get(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        limit = self.config.max_bytes
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > limit:
                    raise FetchError(url, f"the server sends {int(length):,} bytes, over the limit of {limit:,}")
                content = response.read(limit + 1)
        except urllib.error.HTTPError as error:
            raise FetchError(url, f"HTTP {error.code} {error.reason}", error.code in RETRIED_STATUSES) from None
        except (socket.timeout, TimeoutError):
            raise FetchError(url, f"no answer within {self.config.timeout:g} s", True) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, (socket.timeout, TimeoutError)):
                raise FetchError(url, f"no answer within {self.config.timeout:g} s", True) from None
            raise FetchError(url, f"no answer ({error.reason})", True) from None
        except (OSError, http.client.HTTPException) as error:  # a connection reset or cut short mid-answer
            raise FetchError(url, f"no answer ({type(error).__name__}: {error})", True) from None
        if len(content) > limit:
            raise FetchError(url, f"the response is over the limit of {limit:,} bytes")
        return content
