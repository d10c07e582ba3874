"""Long tasks (training, finalizing) in background threads of the server process.

A Streamlit rerun, a page change or a closed tab ends the script run that started a task, so
the task cannot live in the script. It lives here, in one `JobManager` per server (the app
keeps it in `st.cache_resource`); pages look jobs up by name or by the runs they train, and show
their latest `Progress`.
What must outlive the server (history, checkpoints, status) is written by the task itself
to its run folder.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from artcnn.progress import Progress, ProgressCallback

# A task receives a progress callback and a stop event, and returns its result.
Task = Callable[[ProgressCallback, threading.Event], Any]


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

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        self.stop_event.set()


class JobManager:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, name: str, task: Task, runs: tuple[str, ...] = ()) -> Job:
        with self._lock:
            existing = self._jobs.get(name)
            if existing is not None and existing.running:
                raise ValueError(f"a job named {name!r} is already running. Received: name={name!r}")
            job = Job(name, tuple(runs))
            job.thread = threading.Thread(target=self._run, args=(job, task), name=f"artcnn-{name}", daemon=True)
            self._jobs[name] = job
        job.thread.start()
        return job

    @staticmethod
    def _run(job: Job, task: Task) -> None:
        def report(event: Progress) -> None:
            job.latest = event

        try:
            job.result = task(report, job.stop_event)
        except Exception as error:  # the page shows it; the run folder has its own record
            job.error = f"{type(error).__name__}: {error}"
            traceback.print_exc()

    def get(self, name: str) -> Job | None:
        return self._jobs.get(name)

    def running(self) -> list[Job]:
        return [job for job in list(self._jobs.values()) if job.running]

    def training(self, run: str) -> Job | None:
        """The running job that trains the run folder `run` (its own, or a study's), or None."""
        return next((job for job in self.running() if run in job.runs), None)
