"""artcnn dashboard: the router. Each page is a thin file in pages/ over the artcnn package."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="artcnn", page_icon=":material/palette:", layout="wide")

navigation = st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/datasets.py", title="Datasets", icon=":material/grid_view:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/classify.py", title="Classify", icon=":material/search:"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
])
navigation.run()
