"""artcnn dashboard: the router. Each page is a thin file in pages/ over the artcnn package; the page list is
app_state.navigation."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import app_state  # noqa: E402

app_state.navigation().run()
