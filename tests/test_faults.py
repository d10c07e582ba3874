"""Issue 5, faults: nothing finished is lost. Training killed mid-epoch, a full disk or a folder that
cannot be written on save, two trainings at once, a classification cut off half-way."""

import csv
import dataclasses
import os
import pty
import re
import resource
import select
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

import badfiles  # noqa: E402
from badfiles import METADATA, TILE  # noqa: E402
from builders import write_dataset  # noqa: E402

from artcnn import cli, run_folder, training  # noqa: E402
from artcnn.catalogue import Catalogue  # noqa: E402
from artcnn.config import PredictConfig, TrainConfig  # noqa: E402
from artcnn.prediction import classify  # noqa: E402
from artcnn.results_csv import write_results_csv  # noqa: E402
from artcnn.storage import load_model, read_metadata, save_model  # noqa: E402
from artcnn.workspace import Workspace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ONE_EPOCH = TrainConfig(epochs=1, batch_size=4, test_batch_size=8, weights=None, augment=False, input_size=TILE)
RUN_FILES = {"config.json", "status.json", "history.csv", "checkpoint.keras", "model.keras", "metrics.json"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("dataset"), classes=("han", "kom"), artworks=3, tiles=4)


def listing(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


# --- training killed mid-epoch -------------------------------------------------------------------


def kill_mid_epoch(command: list[str], env: dict) -> int:
    """Run `command` with its stderr on a terminal, so its progress bar draws "training: step/total · epoch e/E"
    every 0.1 s, and SIGKILL it at the first draw well inside an epoch after the first. Returns that epoch."""
    bar = re.compile(r"training: (\d+)/(\d+) · epoch (\d+)/(\d+)")
    main_end, process_end = pty.openpty()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=process_end)
    os.close(process_end)
    screen = ""
    try:
        while select.select([main_end], [], [], 120)[0]:
            try:
                screen += os.read(main_end, 4096).decode(errors="replace")
            except OSError:  # the process ended and closed the terminal
                break
            for step, total, epoch, epochs in bar.findall(screen.split("\r")[-1] if "\r" in screen else ""):
                batches = int(total) // int(epochs)
                in_epoch = int(step) - (int(epoch) - 1) * batches
                # Five batches from the end at least, so the kill lands before the epoch completes.
                if int(epoch) >= 2 and in_epoch <= batches - 5:
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=60)
                    return int(epoch)
        raise AssertionError(f"no progress draw inside epoch 2 or 3; the terminal showed: {screen[-500:]!r}")
    finally:
        process.kill()
        process.wait(timeout=60)
        os.close(main_end)


def test_training_killed_mid_epoch_resumes_from_its_last_complete_epoch(tmp_path):
    """A real SIGKILL inside an epoch of `python -m artcnn train --epochs 3` (40 batches an epoch)."""
    dataset = write_dataset(tmp_path / "dataset", classes=("han", "kom"), artworks=11, tiles=4)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "artcnn", "train", str(dataset), str(run), "--epochs", "3",
               "--batch-size", "2", "--test-batch-size", "8", "--no-augment"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    killed_in = kill_mid_epoch(command, env)
    done = killed_in - 1

    record = run_folder.read_run(run)
    assert listing(run) == {"config.json", "status.json", "history.csv", "checkpoint.keras"}
    assert record["model_path"] is None
    assert record["status"]["state"] == "running" and record["status"]["epoch"] == done
    assert run_folder.is_interrupted(record["status"], running_here=False)
    assert [row["epoch"] for row in record["history"]] == list(range(1, done + 1))
    assert read_metadata(run / "checkpoint.keras")["epoch"] == done
    load_model(run / "checkpoint.keras")
    finished_epochs = record["history"]

    # Issue 16: resumed without flags, the run keeps its own settings (3 epochs, batches of 2, no augmentation)
    # instead of the command line's defaults (the recipe's 4 epochs, batches of 32, augmentation).
    started_with = record["config"]["train"]
    resumed = subprocess.run([sys.executable, "-m", "artcnn", "train", str(dataset), str(run), "--resume"], cwd=REPO,
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "with the settings it was started with" in resumed.stdout and "extending" not in resumed.stdout
    record = run_folder.read_run(run)
    assert record["config"]["train"] == started_with and record["config"]["recipe"]["batch_size"] == 2
    assert [row["epoch"] for row in record["history"]] == [1, 2, 3]
    assert record["history"][:done] == finished_epochs
    assert record["status"]["state"] == "finished" and record["model_path"] == run / "model.keras"
    assert listing(run) == RUN_FILES


def test_resume_refuses_a_flag_that_differs_and_extends_with_epochs(dataset, tmp_path, capsys):
    run = tmp_path / "run"
    training.train(dataset, run, ONE_EPOCH)
    resume = ["train", str(dataset), str(run), "--resume"]

    assert cli.main([*resume, "--learning-rate", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "a resumed run keeps its own" in err and "learning_rate: run has None, received 0.5" in err
    assert cli.main([*resume, "--no-augment", "--batch-size", "8"]) == 2
    assert "batch_size: run has 4, received 8" in capsys.readouterr().err

    # Flags equal to the run's own are accepted; --epochs extends it.
    assert cli.main([*resume, "--epochs", "2", "--batch-size", "4", "--no-augment"]) == 0
    assert "extending it from 1 to 2 epochs" in capsys.readouterr().out
    record = run_folder.read_run(run)
    assert [row["epoch"] for row in record["history"]] == [1, 2]
    assert record["config"]["train"] == {**dataclasses.asdict(ONE_EPOCH), "epochs": 2}


# --- full disk, folder that cannot be written ---------------------------------------------------------


@contextmanager
def disk_full_after(limit: int):
    """Writing past `limit` bytes of any file fails for real (EFBIG from the kernel), as root too."""
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    previous = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, previous[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous)
        signal.signal(signal.SIGXFSZ, previous_handler)


@contextmanager
def disk_full_while_saving(limit: int = 64 * 1024):
    """Training's model saves hit a full disk (loading a checkpoint, which unpacks to /tmp, does not)."""
    save_model = training.save_model

    def save_on_a_full_disk(*args, **kwargs):
        with disk_full_after(limit):
            return save_model(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "save_model", save_on_a_full_disk)
        yield


def test_disk_full_while_training_keeps_the_previous_checkpoint_and_model(dataset, tmp_path, capsys):
    run = tmp_path / "run"
    training.train(dataset, run, ONE_EPOCH)
    saved = {name: (run / name).read_bytes() for name in ("checkpoint.keras", "model.keras", "metrics.json")}
    arguments = ["train", str(dataset), str(run), "--epochs", "2", "--batch-size", "4", "--test-batch-size", "8",
                 "--no-augment", "--weights", "none", "--input-size", str(TILE), "--resume"]

    with disk_full_while_saving():
        assert cli.main(arguments) == 2
    message = capsys.readouterr().err
    assert f"cannot write {run / 'checkpoint.keras'}: File too large" in message
    assert {name: (run / name).read_bytes() for name in saved} == saved
    assert listing(run) == RUN_FILES
    status = run_folder.read_run(run)["status"]
    assert status["state"] == "failed" and "checkpoint.keras" in status["error"]
    load_model(run / "model.keras")

    assert cli.main(arguments) == 0
    assert [row["epoch"] for row in run_folder.read_run(run)["history"]] == [1, 2]


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_disk_full_while_finalizing_leaves_the_previous_model(dataset, tmp_path, capsys, suffix):
    final = save_model(badfiles.brightness_model(keras), tmp_path / f"final{suffix}", METADATA)
    before = final.read_bytes()
    with disk_full_while_saving():
        assert cli.main(["finalize", str(dataset), str(final), "--epochs", "1", "--batch-size", "8",
                         "--no-augment", "--weights", "none", "--input-size", str(TILE)]) == 2
    message = capsys.readouterr().err
    assert f"cannot write {final}: " in message and "File too large" in message
    assert final.read_bytes() == before and listing(tmp_path) == {final.name}


def test_a_workspace_folder_that_cannot_be_written_is_named(dataset, tmp_path, capsys):
    """A file where the runs folder should be: writing fails for every user, root included."""
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    assert cli.main(["train", str(dataset), str(blocker / "first"), "--epochs", "1", "--weights", "none"]) == 2
    assert str(blocker) in capsys.readouterr().err
    assert cli.main(["finalize", str(dataset), str(blocker / "final.keras"), "--epochs", "1", "--weights", "none"]) == 2
    assert f"the folder for final.keras does not exist: {blocker}" in capsys.readouterr().err
    artworks = {name: badfiles.noise(tmp_path / "art" / name / "a.png", (40, 40)) for name in ("han", "kom")}
    assert cli.main(["tile", str(tmp_path / "art"), str(blocker / "tiles")]) == 2
    assert str(blocker) in capsys.readouterr().err
    assert listing(tmp_path) == {"runs", "art"} and blocker.read_text() == "not a folder"
    assert all(path.is_file() for path in artworks.values())


# --- two trainings at once ------------------------------------------------------------------------------


def in_threads(*tasks):
    """Run the tasks at once; each one's result or exception, in order."""
    outcomes: list = [None] * len(tasks)

    def run(index, task):
        try:
            outcomes[index] = task()
        except Exception as error:  # noqa: BLE001 - handed back to the test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index, task)) for index, task in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


def test_two_trainings_in_one_workspace_keep_their_own_runs(dataset, tmp_path):
    workspace = Workspace.open(tmp_path / "workspace")
    configs = {"tab-one": ONE_EPOCH, "tab-two": dataclasses.replace(ONE_EPOCH, epochs=2, seed=7, recipe="seed")}
    outcomes = in_threads(*(lambda name=name, config=config: training.train(dataset, workspace.run_dir(name), config)
                            for name, config in configs.items()))

    assert all(isinstance(outcome, training.RunResult) for outcome in outcomes), outcomes
    for name, config in configs.items():
        run = workspace.run_dir(name)
        record = run_folder.read_run(run)
        assert listing(run) == RUN_FILES
        assert record["config"]["train"]["seed"] == config.seed and record["status"]["state"] == "finished"
        assert [row["epoch"] for row in record["history"]] == list(range(1, config.epochs + 1))
        model, metadata = load_model(record["model_path"])
        assert metadata["recipe"] == config.recipe and f"(run {name})" in metadata["description"]
    assert workspace.run_names() == sorted(configs, key=lambda name: -workspace.run_dir(name).stat().st_mtime)


def test_a_second_training_into_the_same_run_is_refused(dataset, tmp_path, monkeypatch):
    """Both tabs read the dataset, then claim the run folder at the same moment: one wins, whole."""
    both_ready = threading.Barrier(2, timeout=60)
    read_dataset = training.data.read_dataset
    first_reads = threading.local()

    def read_then_wait(path):
        info = read_dataset(path)
        # Only the read that starts each training waits; evaluation reads the dataset again later.
        if not getattr(first_reads, "done", False):
            first_reads.done = True
            both_ready.wait()
        return info

    monkeypatch.setattr(training.data, "read_dataset", read_then_wait)
    run = tmp_path / "same"
    outcomes = in_threads(lambda: training.train(dataset, run, ONE_EPOCH),
                          lambda: training.train(dataset, run, dataclasses.replace(ONE_EPOCH, seed=3)))

    finished = [outcome for outcome in outcomes if isinstance(outcome, training.RunResult)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValueError)]
    assert len(finished) == 1 and len(refused) == 1, outcomes
    assert f"{run} already holds a run" in str(refused[0]) and "Choose another run name" in str(refused[0])
    winner_seed = 0 if outcomes[0] is finished[0] else 3
    record = run_folder.read_run(run)
    assert record["config"]["train"]["seed"] == winner_seed and record["status"]["state"] == "finished"
    assert [row["epoch"] for row in record["history"]] == [1]


# --- classification cut off ------------------------------------------------------------------------------


@pytest.fixture
def collection(tmp_path):
    folder = tmp_path / "collection"
    for index in range(6):
        badfiles.solid(folder / f"art_{index}.png", (TILE, TILE), (40 * index,) * 3)
    # Third in name order, so it is among the results written before the cut.
    badfiles.truncated_jpeg(folder / "art_1_broken.jpg")
    return folder


class ServerRestart(BaseException):
    """The process ends here: no clean-up code runs after it (as with SIGKILL)."""


def test_results_of_a_cut_off_classification_are_in_the_catalogue_and_the_csv(collection, tmp_path):
    """The Classify page's loop feeding the CSV writer, cut off after three artworks: what a restart
    leaves is read back through new connections and file handles, before anything is closed."""
    model = badfiles.brightness_model(keras)
    catalogue = Catalogue(tmp_path / "catalogue.sqlite")
    classification = catalogue.start_classification("brightness.keras", ["han", "kom"], str(collection))
    out_csv = tmp_path / "results.csv"
    seen = []
    left = {}

    def page_loop():
        for position, result in enumerate(classify((model, METADATA), [collection], PredictConfig(batch_size=2))):
            catalogue.add_result(classification, position, result)
            seen.append(result)
            yield result
            if len(seen) == 3:
                left["stored"] = Catalogue(tmp_path / "catalogue.sqlite").results(classification)
                with open(out_csv, newline="", encoding="utf-8") as handle:
                    left["rows"] = list(csv.DictReader(handle))
                raise ServerRestart

    with pytest.raises(ServerRestart):
        write_results_csv(page_loop(), out_csv, ["han", "kom"], "brightness.keras")

    files = [result.file for result in seen]
    assert [row["file"] for row in left["stored"]] == [row["file"] for row in left["rows"]] == files
    assert [row["error"] is None for row in left["stored"]] == [True, True, False]
    assert "truncated" in left["stored"][2]["error"] and "truncated" in left["rows"][2]["error"]
    assert float(left["rows"][1]["p_kom"]) == pytest.approx(seen[1].probabilities["kom"], abs=1e-6)
    assert left["stored"][1]["probabilities"] == pytest.approx(seen[1].probabilities)
    assert [entry["finished"] for entry in Catalogue(tmp_path / "catalogue.sqlite").classifications()] == [None]


def test_cli_classify_interrupted_keeps_the_rows_written_so_far(collection, tmp_path, capsys, monkeypatch):
    path = save_model(badfiles.brightness_model(keras), tmp_path / "brightness.keras", METADATA)
    out_csv = tmp_path / "results.csv"
    reported = []

    def interrupt_at_the_fourth(self, event):
        if event.payload is None:  # not an artwork's result
            return
        reported.append(Path(event.payload.file).name)
        if len(reported) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.TerminalBar, "update", interrupt_at_the_fourth)
    assert cli.main(["classify", str(path), str(collection), "--out", str(out_csv)]) == 130
    assert "interrupted" in capsys.readouterr().err
    with open(out_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(row["file"]).name for row in rows] == reported[:3]
    assert rows[2]["error"] and not rows[1]["error"]
