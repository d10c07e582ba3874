from concurrent.futures import ThreadPoolExecutor

import pytest
from iiif_server import fetch_config

from artcnn.fetching import FetchConfig, Fetcher, FetchError


def test_a_busy_server_is_asked_again_and_its_answer_kept(iiif_server, tmp_path):
    fetcher = Fetcher(fetch_config(tmp_path))
    path = fetcher.fetch(f"{iiif_server.url}/flaky.json")
    assert path.read_bytes() == b"{}" and iiif_server.count("/flaky.json") == 2
    again = Fetcher(fetch_config(tmp_path)).fetch(f"{iiif_server.url}/flaky.json")
    assert again == path and iiif_server.count("/flaky.json") == 2
    assert path == fetcher.cached_path(f"{iiif_server.url}/flaky.json") and path.is_relative_to(tmp_path / "cache")


def test_a_404_is_not_asked_again_nor_cached(iiif_server, tmp_path):
    fetcher = Fetcher(fetch_config(tmp_path, retries=3))
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher.fetch(f"{iiif_server.url}/gone.json")
    assert iiif_server.count("/gone.json") == 1 and not fetcher.cached_path(f"{iiif_server.url}/gone.json").exists()


def test_a_dead_host_is_no_answer_after_every_attempt(tmp_path):
    with pytest.raises(FetchError, match=r"no answer .*\(after 2 attempts\)"):
        Fetcher(fetch_config(tmp_path)).fetch("http://127.0.0.1:9/manifest.json")


def test_only_http_links_are_fetched(tmp_path):
    with pytest.raises(FetchError, match="only http and https"):
        Fetcher(fetch_config(tmp_path)).fetch("file:///etc/passwd")


def test_an_oversized_response_is_refused(iiif_server, tmp_path):
    with pytest.raises(FetchError, match="over the limit of 100"):
        Fetcher(fetch_config(tmp_path, max_bytes=100)).fetch(f"{iiif_server.url}/v2/manifest.json")


@pytest.mark.parametrize("field, value", [("timeout", 0), ("retries", -1), ("per_host", 0), ("workers", 0)])
def test_fetch_config_checks_its_fields(field, value, tmp_path):
    with pytest.raises(ValueError, match=f"Received: {field}={value}"):
        FetchConfig(**{field: value, "cache": tmp_path})


@pytest.mark.parametrize("per_host", [1, 3])
def test_requests_to_one_host_never_exceed_the_per_host_limit(iiif_server, tmp_path, per_host):
    iiif_server.delay = 0.15  # every answer waits, so that requests overlap
    fetcher = Fetcher(fetch_config(tmp_path, per_host=per_host, workers=4, timeout=5))
    urls = [f"{iiif_server.url}/files/light.png?copy={n}" for n in range(6)]  # six URLs, none cached
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetcher.fetch, urls))
    assert iiif_server.peak == per_host
