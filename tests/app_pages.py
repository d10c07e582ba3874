"""What the page tests share: the app under AppTest and what they read from or send to it. The workspaces
they open are conftest's fixtures, built by builders.py."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def open_page(page: str) -> AppTest:
    """The app (in the workspace ARTCNN_WORKSPACE names) switched to `page`, checked for exceptions."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def zipped(files: list[Path], extra: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in files:
            archive.write(file, f"collection/{file.name}")
        for name, content in extra.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def markdown(at: AppTest) -> str:
    return "\n".join(element.value for element in at.markdown)
