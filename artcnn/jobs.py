"""Long tasks (training, finalizing) in background threads of the server process.

A Streamlit rerun, a page change or a closed tab ends the script run that started a task, so
the task cannot live in the script. It lives here, in one `JobManager` per server (the app
keeps it in `st.cache_resource`); pages look jobs up by name or by the runs they train, and show
their latest `Progress`.
What must outlive the server (history, checkpoints, status) is written by the task itself
to its run folder.

A server runs at most JobsConfig.max_trainings jobs at once (default one per core: a training keeps a core
busy); a job started beyond waits in the queue, first come first served, and starts when one ends. Each job
runs as the user who started it (access.acting_as), so what it records in the catalogue names them.
"""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from artcnn.access import acting_as
from artcnn.config import whole_number_from_env
from artcnn.progress import Progress, ProgressCallback

LIMIT_VARIABLE = "ARTCNN_MAX_TRAININGS"

# A task receives a progress callback and a stop event, and returns its result.
Task = Callable[[ProgressCallback, threading.Event], Any]


@dataclass(frozen=True)
class JobsConfig:
    """How many long tasks one server runs at once."""

    # Jobs (trainings, studies, finalizing) running at once; more wait in the queue. 0: one per core.
    max_trainings: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.max_trainings, bool) or not isinstance(self.max_trainings, int) or self.max_trainings < 0:
            raise ValueError("max_trainings must be 0 (one per core) or more. "
                             f"Received: max_trainings={self.max_trainings!r}")

    @property
    def limit(self) -> int:
        return self.max_trainings or os.cpu_count() or 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "JobsConfig":
        """ARTCNN_MAX_TRAININGS, or the default."""
        value = whole_number_from_env(LIMIT_VARIABLE, environ, "a whole number (0: one per core)")
        return cls() if value is None else cls(max_trainings=value)


@dataclass
class Job:
    name: str
    # The run folders the task trains (one run, or a study's four), so that a page showing a run
    # knows it is being written now; empty for a task that trains no run (finalizing).
    runs: tuple[str, ...] = ()
    stop_event: threading.Event = field(default_factory=threading.Event)
    # The last event the task reported; None until its first (TensorFlow is still loading).
    latest: Progress | None = None
    result: Any = None
    error: str | None = None
    thread: threading.Thread | None = None
    # Who started it (access.current_user then), None without sign-in; the task runs as them.
    user: str | None = None
    # When it was started (or queued), in UTC.
    submitted: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # Waiting in the queue for a free place; False once it starts (or is cancelled).
    queued: bool = False
    # Its task has returned or raised (result or error is set).
    ended: bool = False

    @property
    def working(self) -> bool:
        """Its task runs now."""
        return self.thread is not None and not self.ended and self.thread.is_alive()

    @property
    def running(self) -> bool:
        """Not ended yet: its task runs now, or it waits in the queue."""
        return self.queued or self.working

    def stop(self) -> None:
        """Ask the task to stop at its next check (a job waiting in the queue: JobManager.cancel)."""
        self.stop_event.set()


class JobManager:
    def __init__(self, config: JobsConfig | None = None) -> None:
        self.config = config or JobsConfig.from_env()
        self._jobs: dict[str, Job] = {}
        self._queue: list[tuple[Job, Task]] = []
        self._lock = threading.Lock()

    def start(self, name: str, task: Task, runs: tuple[str, ...] = (), user: str | None = None) -> Job:
        """Start `task` as job `name` run by `user` (default: nobody), now if fewer than the limit run, else at
        the end of the queue. A job of the same name still running or waiting is refused."""
        with self._lock:
            existing = self._jobs.get(name)
            if existing is not None and existing.running:
                raise ValueError(f"a job named {name!r} is already running. Received: name={name!r}")
            job = Job(name, tuple(runs), user=user, queued=True)
            self._jobs[name] = job
            self._queue.append((job, task))
            self._start_waiting()
        return job

    def _start_waiting(self) -> None:
        """Start queued jobs while places are free (called with the lock held); one stopped while it waited
        ends without starting."""
        while self._queue and len(self.running()) < self.config.limit:
            job, task = self._queue.pop(0)
            job.queued = False
            if job.stop_event.is_set():
                job.ended, job.error = True, "Cancelled before it started."
                continue
            job.thread = threading.Thread(target=self._run, args=(job, task), name=f"artcnn-{job.name}", daemon=True)
            job.thread.start()

    def _run(self, job: Job, task: Task) -> None:
        def report(event: Progress) -> None:
            job.latest = event

        try:
            with acting_as(job.user):
                job.result = task(report, job.stop_event)
        except Exception as error:  # the page shows it; the run folder has its own record
            job.error = f"{type(error).__name__}: {error}"
            traceback.print_exc()
        finally:
            with self._lock:  # its place goes to the next in the queue
                job.ended = True
                self._start_waiting()

    def cancel(self, name: str) -> None:
        """Take the waiting job `name` out of the queue before it starts (a running one is stopped instead)."""
        with self._lock:
            job = self._jobs.get(name)
            if job is None:
                raise ValueError(f"no job named {name!r}. Received: name={name!r}")
            job.stop()
            if job.queued:
                self._queue = [(waiting, task) for waiting, task in self._queue if waiting is not job]
                job.queued, job.ended, job.error = False, True, "Cancelled before it started."

    def get(self, name: str) -> Job | None:
        return self._jobs.get(name)

    def running(self) -> list[Job]:
        """The jobs whose task runs now (not those waiting)."""
        return [job for job in list(self._jobs.values()) if job.working]

    def queued(self) -> list[Job]:
        """The jobs waiting for a place, the next to start first."""
        return [job for job, _ in list(self._queue)]

    def training(self, run: str) -> Job | None:
        """The job that trains the run folder `run` (its own, or a study's), running or waiting, or None."""
        return next((job for job in [*self.running(), *self.queued()] if run in job.runs), None)
