import threading

from artcnn.jobs import JobManager


def test_job_reports_progress_and_result():
    manager = JobManager()

    def task(progress, stop):
        for step in range(3):
            progress(step)
        return "done"

    job = manager.start("a", task)
    job.thread.join(5)
    assert job.latest == 2 and job.result == "done" and job.error is None
    assert manager.get("a") is job and manager.running() == []


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
