"""The app as a new user meets it: `streamlit run` on a free port, driven by Debian's Chromium through
Playwright: demo → dataset → train (leaving the page mid-run) → classify → sort → CSV. Screenshots go to
the test's tmp_path/screenshots."""

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from artcnn.prediction import NEEDS_REVIEW

CHROMIUM = Path("/usr/bin/chromium")
APP_DIR = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
expect = sync_api.expect
# Every wait is bounded; training and the first TensorFlow import on two busy cores get the longest.
SERVER_START, TRAINING = 60, 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def app(tmp_path):
    """The app served by `streamlit run` with its own workspace: (url, workspace). The server is killed after."""
    workspace, port = tmp_path / "workspace", free_port()
    with open(tmp_path / "server.log", "w") as log:
        # No file watcher: an edited source file would put a "File change, Rerun?" prompt over the page.
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=APP_DIR, stdout=log,
            stderr=subprocess.STDOUT, env={**os.environ, "ARTCNN_WORKSPACE": str(workspace)})
        try:
            url, deadline = f"http://localhost:{port}", time.monotonic() + SERVER_START
            while True:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"the server did not answer in {SERVER_START} s"
                    time.sleep(0.5)
            yield url, workspace
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture
def page(tmp_path):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        try:
            # Tall, because Streamlit scrolls inside its own container and screenshots show only the viewport.
            yield browser.new_page(viewport={"width": 1280, "height": 1800}, accept_downloads=True)
        finally:
            browser.close()


def go_to(page, name: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def settled_header(page, table):
    """(left, header row y, width) of a dataframe once the page stopped running and moving."""
    previous = None
    while True:
        expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
        box = table.bounding_box()
        if box == previous:
            return box["x"], box["y"] + 17, box["width"]
        previous = box
        time.sleep(0.7)


def test_demo_dataset_train_classify_sort_download(app, page, tmp_path):
    url, workspace = app
    shots = tmp_path / "screenshots"
    shots.mkdir()
    expect.set_options(timeout=30_000)

    page.goto(url)
    expect(page.get_by_role("heading", name="artcnn", exact=True)).to_be_visible(timeout=SERVER_START * 1000)
    page.get_by_role("button", name="Start with the synthetic demo").click()
    expect(page.get_by_text("Dataset demo is ready")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Datasets")).to_contain_text("1")  # counted after the build
    # Page links carry Material icons (drawn from the icon font), not emoji that Chromium may lack glyphs for.
    expect(page.get_by_test_id("stPageLink").filter(has_text="Next: train").get_by_test_id("stIconMaterial")
           ).to_have_text("model_training")
    page.screenshot(path=shots / "01-home-demo.png")

    go_to(page, "Datasets", "Datasets")
    expect(page.get_by_text("SYNTHETIC demo artworks")).to_be_visible()
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("demo")
    page.screenshot(path=shots / "02-datasets.png")

    go_to(page, "Train", "Train")
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("demo (SYNTHETIC demo data)")
    for role, name, value in (("spinbutton", "Epochs", "1"), ("textbox", "Run name", "browser run")):
        field = page.get_by_role(role, name=name, exact=True)
        field.fill(value)
        field.press("Enter")
    expect(page.get_by_role("textbox", name="Run name", exact=True)).to_have_value("browser run")
    page.get_by_role("button", name="Start training").click()
    progress = page.get_by_test_id("stProgress").filter(has_text="browser run · ")
    expect(progress).to_be_visible()
    page.screenshot(path=shots / "03-train-started.png")

    go_to(page, "Home", "artcnn")
    go_to(page, "Train", "Train")
    expect(progress).to_be_visible()  # the run outlived the page change
    expect(page.get_by_text(re.compile(r"browser run: running"))).to_be_visible()
    page.screenshot(path=shots / "04-train-back-mid-run.png")
    expect(page.get_by_text(re.compile(r"browser run: finished, epoch 1 of 1"))).to_be_visible(timeout=TRAINING * 1000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Test accuracy, artworks")).to_be_visible()
    expect(page.get_by_text("Loss")).to_be_visible()  # the curves' subplot title
    page.screenshot(path=shots / "05-train-finished.png")

    go_to(page, "Classify", "Classify")
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option").filter(has_text="runs/browser run/model.keras").click()
    demo = workspace / "uploads" / "demo"
    artworks = sorted((demo / "han").iterdir())[:2] + sorted((demo / "kom").iterdir())[:2]
    page.locator("input[type=file]").set_input_files([str(path) for path in artworks])
    expect(page.get_by_text(artworks[0].name)).to_be_visible()
    page.get_by_role("button", name="Classify", exact=True).click()
    download = page.get_by_role("button", name="Download these 4 results as CSV")
    expect(download).to_be_visible(timeout=120_000)
    page.screenshot(path=shots / "06-classified.png")

    # The table is a canvas: find the artwork column's left edge by the resize cursor, then click its header.
    table = page.get_by_test_id("stDataFrame").first
    canvas = table.locator("canvas").first

    def cursor_at(x: float) -> str:
        page.mouse.move(x, settled_header(page, table)[1])
        return canvas.evaluate("element => getComputedStyle(element).cursor")

    def shown_artworks() -> list[str]:
        return [row.locator("[role=gridcell]").nth(1).inner_text() for row in table.locator("tbody [role=row]").all()]

    left, _, width = settled_header(page, table)
    edge = next(x for x in range(int(left), int(left + width), 2) if cursor_at(x) == "col-resize")
    names = sorted(path.name for path in artworks)
    assert shown_artworks() != names[::-1]
    for _ in range(2):  # ascending, then descending
        page.mouse.click(edge + 40, settled_header(page, table)[1])
    deadline = time.monotonic() + 10
    while shown_artworks() != names[::-1]:
        assert time.monotonic() < deadline, f"not sorted by artwork, descending: {shown_artworks()}"
        time.sleep(0.5)
    page.screenshot(path=shots / "07-sorted.png")

    with page.expect_download() as started:
        download.click()
    rows = list(csv.DictReader(io.StringIO(Path(started.value.path()).read_text(encoding="utf-8"))))
    assert sorted(Path(row["file"]).name for row in rows) == names
    assert {row["model"] for row in rows} == {"runs/browser run/model.keras"}
    assert all(row["label"] in ("han", "kom", NEEDS_REVIEW) and not row["error"] for row in rows)
