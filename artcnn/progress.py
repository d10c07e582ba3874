"""The one progress event every long task emits, and the plain callback that receives it.

Tiling, training, finalizing, cross-validation, the study, the prior, calibration, the shortcut
check and classification all report `Progress`; the CLI's terminal bar and the pages' progress
bars render any of them the same way (`fraction`, `message`). What a page needs beyond the bar
(the epoch and logs of a training, the result of one classified artwork) travels in `payload`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Progress:
    """How far one long task has come."""

    # What is being done, in a word a person reads: "tiling", "training", "classifying", ...
    what: str
    # Units of work finished so far (files, batches, artworks, ...).
    done: int
    # Units in all, or None while it is not known (a streaming classification).
    total: int | None
    # One short line for a person: the stage, epoch, current file or running loss.
    message: str = ""
    # Task-specific detail for pages that show more than a bar: a training's `TrainingStep`,
    # a classification's `ArtworkResult`, ...; None when there is nothing more.
    payload: Any = None

    def __post_init__(self) -> None:
        if self.done < 0 or (self.total is not None and self.total < 0):
            raise ValueError(f"done and total must not be negative. Received: done={self.done}, total={self.total}")

    @property
    def fraction(self) -> float | None:
        """Share of the work done in [0, 1], or None when the total is unknown."""
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)

    def text(self) -> str:
        """`what: done/total · message`, the line both the CLI and the pages show."""
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        return f"{self.what}: {count}" + (f" · {self.message}" if self.message else "")


ProgressCallback = Callable[[Progress], None]


def emit(callback: Optional[ProgressCallback], what: str, done: int, total: int | None, message: str = "",
         payload: Any = None) -> None:
    """Send one event to `callback`, if there is one (every stage takes progress=None)."""
    if callback is not None:
        callback(Progress(what, done, total, message, payload))


def within(callback: Optional[ProgressCallback], prefix: str) -> Optional[ProgressCallback]:
    """A callback for a sub-task (one fold, one study configuration) that passes its events on with
    `prefix` before their message, so the outer task's bar tells which part is running."""
    if callback is None:
        return None

    def forward(event: Progress) -> None:
        message = f"{prefix} · {event.message}" if event.message else prefix
        callback(Progress(event.what, event.done, event.total, message, event.payload))

    return forward
