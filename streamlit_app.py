"""artcnn dashboard: the router. Each page is a thin file in pages/ over the artcnn package."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="artcnn", page_icon="🖼️", layout="wide")

navigation = st.navigation([
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/datasets.py", title="Datasets", icon="🧩"),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/classify.py", title="Classify", icon="🔎"),
    st.Page("pages/models.py", title="Models", icon="📦"),
])
navigation.run()
