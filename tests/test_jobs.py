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


def _waiting_task(release: threading.Event, started: list, name: str):
    def task(progress, stop):
        started.append(name)
        assert release.wait(10)
        return name
    return task


def test_beyond_the_limit_a_second_and_third_training_wait_in_the_queue_in_order():
    from artcnn.jobs import JobsConfig

    manager = JobManager(JobsConfig(max_trainings=1))
    releases = {name: threading.Event() for name in ("first", "second", "third")}
    started: list[str] = []
    jobs = {name: manager.start(name, _waiting_task(releases[name], started, name), runs=(name,), user=f"{name}@m")
            for name in releases}
    assert [job.name for job in manager.running()] == ["first"] and started == ["first"]
    assert [job.name for job in manager.queued()] == ["second", "third"]
    assert jobs["second"].queued and jobs["second"].running and not jobs["second"].working
    assert manager.training("third") is jobs["third"], "a waiting run counts as being trained (not deletable)"
    try:
        manager.start("third", _waiting_task(releases["third"], started, "again"))
        raise AssertionError("a job waiting under the same name must be refused")
    except ValueError as error:
        assert "already running" in str(error)

    releases["first"].set()
    jobs["first"].thread.join(5)
    assert jobs["first"].result == "first" and not jobs["first"].running
    assert [job.name for job in manager.running()] == ["second"] and [job.name for job in manager.queued()] == ["third"]
    releases["second"].set()
    jobs["second"].thread.join(5)
    assert [job.name for job in manager.running()] == ["third"] and manager.queued() == []
    releases["third"].set()
    jobs["third"].thread.join(5)
    assert started == ["first", "second", "third"] and [jobs[name].result for name in releases] == list(releases)


def test_a_waiting_job_can_be_cancelled_or_stopped_before_it_starts():
    from artcnn.jobs import JobsConfig

    manager = JobManager(JobsConfig(max_trainings=1))
    release, started = threading.Event(), []
    first = manager.start("first", _waiting_task(release, started, "first"))
    second = manager.start("second", _waiting_task(release, started, "second"))
    third = manager.start("third", _waiting_task(release, started, "third"))
    manager.cancel("second")
    assert [job.name for job in manager.queued()] == ["third"]
    assert not second.running and second.error == "Cancelled before it started."
    third.stop()  # as a Stop button would: it never starts
    release.set()
    first.thread.join(5)
    assert started == ["first"] and not third.running and third.error == "Cancelled before it started."
    assert manager.running() == [] and manager.queued() == []
    try:
        manager.cancel("fourth")
        raise AssertionError("an unknown job must be refused")
    except ValueError as error:
        assert "Received: name='fourth'" in str(error)


def test_a_job_runs_as_the_user_who_started_it():
    from artcnn.access import current_user

    manager = JobManager()
    job = manager.start("mine", lambda progress, stop: current_user(), user="ana@museum.org")
    job.thread.join(5)
    assert job.result == "ana@museum.org" and job.user == "ana@museum.org"
    assert current_user() is None


def test_the_limit_is_one_job_per_core_unless_configured():
    import os

    from artcnn.jobs import JobsConfig

    assert JobsConfig().limit == (os.cpu_count() or 1) and JobsConfig(max_trainings=3).limit == 3
    assert JobsConfig.from_env({"ARTCNN_MAX_TRAININGS": "2"}).limit == 2 and JobsConfig.from_env({}).max_trainings == 0
    for bad in ("-1", "many"):
        try:
            JobsConfig.from_env({"ARTCNN_MAX_TRAININGS": bad})
            raise AssertionError("a bad limit must be refused")
        except ValueError as error:
            assert f"Received: ARTCNN_MAX_TRAININGS='{bad}'" in str(error)
