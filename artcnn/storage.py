"""Saving and loading models with their artcnn metadata inside the file, and atomic run files.

A model file is only useful with its classes, input size and tiling, so they travel inside it:
`.keras` files get an extra zip member `artcnn.json` (Keras' loader ignores it); `.h5` files get
the root attribute `artcnn_metadata`. Every write goes to a temporary file beside the target and
is renamed over it at the end, so a crash or full disk never leaves a half-written model or run file.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

MODEL_SUFFIXES = (".keras", ".h5")
KERAS_MEMBER = "artcnn.json"
H5_ATTRIBUTE = "artcnn_metadata"
# The study's classes, in its alphabetical folder order, for models saved without artcnn metadata.
STUDY_CLASSES = ["han", "kom"]


def _model_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"A model file must end in .keras or .h5. Received: path={path}")
    return suffix


def _naming_path(error: OSError, path: Path, action: str) -> OSError:
    """The same kind of OSError (OSError(errno, ...) picks the subclass), with the path in its message."""
    message = f"cannot {action} {path}: {error.strerror or error}"
    return OSError(error.errno, message) if error.errno else OSError(message)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def _atomic_target(path: Path, replace: bool = True) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix) that replaces `path` only if the block succeeds.

    With replace=False it only creates `path`: FileExistsError if it exists, even if another process
    creates it at the same moment, so the creation can claim something (a run folder, say).
    """
    try:
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
        os.close(handle)
    except OSError as error:
        raise _naming_path(error, path, "write") from error
    temp = Path(temp_name)
    try:
        yield temp
        _fsync(temp)
        if replace:
            os.replace(temp, path)
        else:
            # Linking, unlike renaming, fails when the target exists; the whole file appears at once either way.
            os.link(temp, path)
            temp.unlink()
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _naming_path(error, path, "write") from error
        if isinstance(error, Exception):
            error.add_note(f"{path} was left unchanged.")
        raise
    try:
        _fsync(path.parent)
    except OSError:
        pass  # Some filesystems cannot fsync a folder; the rename itself has happened.


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, replace: bool = True) -> Path:
    """Write `data` to `path` so readers see the old file or the whole new one, never a part.
    With replace=False, raise FileExistsError instead of replacing an existing file."""
    path = Path(path)
    with _atomic_target(path, replace) as temp:
        temp.write_bytes(data)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, *, replace: bool = True) -> Path:
    """atomic_write_bytes for `text`, encoded as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"), replace=replace)


def atomic_write_json(path: str | os.PathLike, obj: Any, *, replace: bool = True) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2) + "\n", replace=replace)


def save_model(model: Any, path: str | os.PathLike, metadata: dict) -> Path:
    """Save `model` to a .keras (recommended) or .h5 file with `metadata` inside it, atomically."""
    path = Path(path)
    suffix = _model_suffix(path)
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict. Received: metadata={metadata!r}")
    try:
        text = json.dumps(metadata, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata must be JSON-serialisable ({error}). Received: metadata={metadata!r}") from None
    import keras

    with _atomic_target(path) as temp:
        if suffix == ".keras":
            keras.saving.save_model(model, temp)
            with zipfile.ZipFile(temp, "a") as archive:
                archive.writestr(KERAS_MEMBER, text)
        else:
            temp.write_bytes(_h5_bytes(model, text))
    return path


def _h5_bytes(model: Any, metadata_text: str) -> bytes:
    """The model as an .h5 file with its metadata, built in memory.

    HDF5 never writes to disk itself: after a write it could not finish (a full disk), h5py
    crashes the process when the file is closed (segfault, h5py 3.14 / HDF5 1.14). Python's
    write of the finished bytes fails with a plain OSError instead.
    """
    import h5py
    # What keras.saving.save_model uses for .h5 paths; the public call only accepts a path.
    from keras.src.legacy.saving.legacy_h5_format import save_model_to_hdf5

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        save_model_to_hdf5(model, file)
        file.attrs[H5_ATTRIBUTE] = metadata_text
    return buffer.getvalue()


def read_metadata(path: str | os.PathLike) -> dict:
    """The artcnn metadata stored in a model file ({} if it has none), read without TensorFlow."""
    path = Path(path)
    suffix = _model_suffix(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        if suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                if KERAS_MEMBER not in archive.namelist():
                    return {}
                text = archive.read(KERAS_MEMBER).decode("utf-8")
        else:
            import h5py

            with h5py.File(path, "r") as file:
                text = file.attrs.get(H5_ATTRIBUTE)
            if text is None:
                return {}
            if isinstance(text, bytes):
                text = text.decode("utf-8")
    except PermissionError as error:
        raise _naming_path(error, path, "read") from None
    except (zipfile.BadZipFile, OSError, KeyError, UnicodeDecodeError) as error:
        raise ValueError(f"not a valid {suffix} file: {path} ({type(error).__name__}: {error})") from None
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: its artcnn metadata is not valid JSON ({error})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: its artcnn metadata must be a JSON object. Received: {text[:80]!r}")
    return metadata


def load_model(path: str | os.PathLike, *, safe_mode: bool = True) -> tuple[Any, dict]:
    """Load a model for prediction (uncompiled) and its metadata, completed and checked against it.

    safe_mode refuses models that carry Python code (Lambda layers); turn it off only for files
    whose source you trust.
    """
    path = Path(path)
    metadata = read_metadata(path)
    import keras

    try:
        # Uncompiled: prediction needs no optimizer, and compiling a loaded model only adds warnings.
        model = keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    except Exception as error:
        if safe_mode and "safe_mode" in str(error):
            raise ValueError(
                f"{path} contains a Lambda layer (Python code that runs when loaded) and was refused in "
                "safe mode. Load it with safe_mode=False (CLI: --unsafe) only if you trust where the file "
                "came from."
            ) from None
        raise ValueError(f"not a valid {path.suffix.lower()} file: {path} ({type(error).__name__}: {error})") from None
    return model, model_metadata(model, metadata, source=str(path))


def classes_fit(units: int, n_classes: int) -> bool:
    """Whether a model with `units` outputs can tell `n_classes` classes apart (1 sigmoid unit: 2 classes)."""
    return n_classes >= 2 and n_classes == (2 if units == 1 else units)


def model_metadata(model: Any, metadata: dict, source: str = "model") -> dict:
    """`metadata` with `classes` and `input_size` filled in from the model if absent, checked against it.

    A model saved without artcnn metadata (an .h5 from the study, say) is taken to be the study's:
    classes han, kom for one or two output units.
    """
    output_shape = model.output_shape
    if not isinstance(output_shape, tuple) or len(output_shape) != 2:
        raise ValueError(f"{source}: the model must have one output of shape (batch, units). "
                         f"Received: output_shape={output_shape}")
    units = output_shape[-1]
    input_shape = model.input_shape
    if not isinstance(input_shape, tuple) or len(input_shape) != 4 or input_shape[-1] != 3:
        # Caught here, not by the first batch: a grey or multi-input model would fail mid-run.
        raise ValueError(f"{source}: the model takes inputs of shape {input_shape}; artcnn gives it RGB tiles "
                         "of shape (batch, size, size, 3).")
    height, width = input_shape[1:3]
    defaults = {
        "classes": STUDY_CLASSES if units in (1, 2) else [f"class_{index}" for index in range(units)],
        "input_size": height,
    }
    completed = {**defaults, **metadata}
    classes = completed["classes"]
    if not classes_fit(units, len(classes)):
        raise ValueError(
            f"{source}: its metadata lists {len(classes)} classes ({', '.join(map(str, classes))}) but the model "
            f"has {units} output unit(s); a model needs at least 2 classes, one unit per class or 1 sigmoid unit "
            "for 2 classes."
        )
    size = completed["input_size"]
    if size is not None and any(side is not None and side != size for side in (height, width)):
        raise ValueError(
            f"{source}: its metadata says input_size={size} but the model takes {height}×{width} inputs."
        )
    return completed


def model_file_bytes(path: str | os.PathLike, suffix: str) -> bytes:
    """The model file's contents in the `suffix` format (.keras or .h5) with its metadata, converting
    through a temporary file when the file is in the other format.
    """
    path = Path(path)
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"suffix must be .keras or .h5. Received: suffix={suffix!r}")
    if _model_suffix(path) == suffix:
        return path.read_bytes()
    model, metadata = load_model(path)
    with tempfile.TemporaryDirectory(prefix="artcnn-convert-") as folder:
        return save_model(model, Path(folder) / f"{path.stem}{suffix}", metadata).read_bytes()
