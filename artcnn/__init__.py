"""artcnn: sort artworks into made by hand (han) or by code (kom) with a retrainable CNN."""

import os

# TensorFlow is chatty on import; users see our messages, not its C++ logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
