"""What the CLI writes on a terminal: any task's Progress as a one-line bar, and metrics in a few lines."""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from typing import Sequence

from artcnn.progress import Progress

# INFO lines TensorFlow's native libraries write to stderr while it is imported, whatever TF_CPP_MIN_LOG_LEVEL
# says: absl prints them before its logging is set up. The oneDNN notice came twice because two of the
# libraries loaded on import (tensorflow.python.platform's and the profiler plugin's) each carry a copy of it.
TENSORFLOW_NOTICES = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                      "This TensorFlow binary is optimized", "To enable the following instructions")

# Characters of the bar itself: the rest of the line is for the task's text, which says more.
BAR_WIDTH = 20

class TerminalBar:
    """Any task's `Progress` as one line on stderr, redrawn in place and fitted to the terminal's width;
    when stderr is not a terminal (a log file), each task's last line is written once it ends. Use it in
    a `with` block, so the last line is ended (or written) when the task returns early, and a log file
    holds only the error message when it fails."""

    def __init__(self, stream=None):
        # Looked up per bar, not bound at import: sys.stderr may be replaced later (tests, notebooks).
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = self.last_draw = time.monotonic()
        self.line: str | None = None  # drawn (terminal) or waiting to be written (log file)
        self.what: str | None = None
        self.done = 0
        # (done, total) of a task's last event: the same again (an epoch's end after its last batch, with
        # the test loss) redraws that line, anything else starts the next task's line.
        self.finished: tuple | None = None

    def update(self, event: Progress) -> None:
        now = time.monotonic()
        finished = event.fraction is not None and event.done >= event.total
        repeat = finished and self.finished == (event.done, event.total)
        # A new task: another kind, a count starting over (the next fold), or anything after a finished one.
        if event.what != self.what or event.done < self.done or (self.finished and not repeat):
            self.close()
            self.started = now
        self.what, self.done = event.what, event.done
        if self.interactive and not finished and now - self.last_draw < 0.1:
            return
        fraction = event.fraction
        filled = 0 if fraction is None else int(BAR_WIDTH * fraction)
        bar = "" if fraction is None else f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
        width = shutil.get_terminal_size().columns - 1 if self.interactive else 1_000
        self.line = fit_words(f"{bar}{now - self.started:4.0f}s {event.text()}", width)
        self.finished = (event.done, event.total) if finished else None
        if self.interactive:
            self.last_draw = now
            self.stream.write("\r" + self.line.ljust(width))
            self.stream.flush()

    def close(self) -> None:
        """End the current line: on a terminal it stays as drawn, in a log file it is written now."""
        if self.line is not None:
            self.stream.write("\n" if self.interactive else self.line + "\n")
            self.stream.flush()
        self.line = self.what = self.finished = None
        self.done = 0

    def __enter__(self) -> "TerminalBar":
        return self

    def __exit__(self, error_type, *exc_info) -> None:
        if error_type is not None and not self.interactive:
            self.line = None  # a log file gets the error message alone, not the line of a task that failed
        self.close()


def fit_words(line: str, width: int) -> str:
    """`line` cut to `width` characters between two of its " · " fields (or words), never inside one:
    "val_loss 0.690" is kept whole or left out."""
    if len(line) <= width:
        return line
    cut = line[:width - 2]
    for separator in (" · ", " "):
        if separator in cut:
            return cut.rsplit(separator, 1)[0] + " …"
    return cut + "…"


def headline(metrics: dict, split: str = "test") -> str:
    """Tile and artwork accuracy of evaluation.evaluate_model's metrics, with 95% intervals, on one line."""
    tile, art = metrics["tile_accuracy"], metrics["artwork_accuracy"]
    return (f"{split} accuracy: tiles {tile['value']:.1%} (95% CI {tile['low']:.1%}-{tile['high']:.1%}, "
            f"n={metrics['n_tiles']}), artworks {art['value']:.1%} "
            f"(95% CI {art['low']:.1%}-{art['high']:.1%}, n={metrics['n_artworks']})")


def metrics_summary(metrics: dict, split: str) -> str:
    """The headline figures and the artwork confusion matrix, a screenful at most (`--json` has everything)."""
    classes, auc = metrics["classes"], metrics["roc_auc"]
    width = max(len(name) for name in classes) + 2
    rows = [f"{'true ' + name:>{width + 5}}" + "".join(f"{count:>{width}}" for count in counts)
            for name, counts in zip(classes, metrics["artwork_confusion"])]
    wrong = len(metrics["misclassified"])
    return "\n".join([
        headline(metrics, "train and test" if split == "all" else split),
        f"ROC AUC (artworks): {'undefined (one class only)' if auc is None else f'{auc:.3f}'}",
        "artworks by true class (rows) and predicted class (columns):",
        " " * (width + 5) + "".join(f"{name:>{width}}" for name in classes),
        *rows,
        f"{wrong} artworks misclassified" + (" (listed with --json)" if wrong else ""),
    ])


def quiet_tensorflow() -> None:
    """Drop TensorFlow's start-up notices (TENSORFLOW_NOTICES) when it is first imported, as its own
    TF_CPP_MIN_LOG_LEVEL asks for every other INFO line; with TF_CPP_MIN_LOG_LEVEL=0 they are kept."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip() not in ("", "0"):
        drop_import_notices("tensorflow", TENSORFLOW_NOTICES)


def drop_import_notices(module: str, notices: Sequence[str]) -> None:
    """While `module` is first imported, whatever its native code writes to stderr (file descriptor 2) is held
    back, and only the lines holding none of `notices` are written once the import ends."""
    sys.meta_path.insert(0, _NoticeDropper(module, tuple(notices)))


class _NoticeDropper(importlib.abc.MetaPathFinder):
    def __init__(self, module: str, notices: tuple[str, ...]):
        self.module, self.notices = module, notices

    def find_spec(self, name, path, target=None):
        if name != self.module:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _HeldStderrLoader(spec.loader, self.notices)
        return spec


class _HeldStderrLoader(importlib.abc.Loader):
    def __init__(self, loader, notices: tuple[str, ...]):
        self.loader, self.notices = loader, notices

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        # The module keeps its own loader: only its first execution is wrapped.
        module.__loader__ = module.__spec__.loader = self.loader
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                self.loader.exec_module(module)
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                held.seek(0)
                kept = [line for line in held.read().splitlines(keepends=True)
                        if not any(notice.encode() in line for notice in self.notices)]
                os.write(2, b"".join(kept))
