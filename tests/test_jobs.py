import threading

from artcnn.jobs import JobManager
from artcnn.progress import Progress


def test_job_reports_progress_and_result():
    manager = JobManager()

    def task(progress, stop):
        for step in range(3):
            progress(Progress("counting", step + 1, 3))
        return "done"

    job = manager.start("a", task)
    job.thread.join(5)
    assert job.latest == Progress("counting", 3, 3) and job.result == "done" and job.error is None
    assert manager.get("a") is job and manager.running() == []


def test_a_job_is_found_by_the_runs_it_trains_while_it_runs():
    manager = JobManager()
    release = threading.Event()
    job = manager.start("study s", lambda progress, stop: release.wait(5), runs=("s plain", "s dropout"))
    assert manager.training("s dropout") is job and manager.training("s plain") is job
    assert manager.training("study s") is None and manager.training("other") is None
    release.set()
    job.thread.join(5)
    assert manager.training("s plain") is None


def test_stop_reaches_the_task_and_errors_are_kept():
    manager = JobManager()
    started = threading.Event()

    def task(progress, stop):
        started.set()
        assert stop.wait(5)
        raise RuntimeError("stopped by user")

    job = manager.start("b", task)
    started.wait(5)
    try:
        manager.start("b", task)
        raise AssertionError("a second job with the same name must be refused")
    except ValueError as error:
        assert "already running" in str(error)
    job.stop()
    job.thread.join(5)
    assert job.error == "RuntimeError: stopped by user"
