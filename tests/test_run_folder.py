import os
import subprocess
import sys
from pathlib import Path

from artcnn.run_folder import is_interrupted


def test_read_run_does_not_import_tensorflow(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    code = ("import sys; from artcnn.run_folder import read_run; "
            f"read_run({str(tmp_path)!r}); print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=str(Path(__file__).resolve().parents[1])).stdout
    assert output.split() == ["False", "False"]


def test_a_running_run_is_interrupted_only_when_nothing_trains_it():
    running = {"state": "running", "pid": os.getpid()}
    assert not is_interrupted({"state": "finished", "pid": os.getpid()}, running_here=False)
    assert not is_interrupted(running, running_here=True)
    # Recorded by this process but not running here: an earlier server with the same process id.
    assert is_interrupted(running, running_here=False)
    assert is_interrupted({"state": "running"}, running_here=False)
    # Another live process (the parent, here) still trains it; a process that has exited does not.
    assert not is_interrupted({"state": "running", "pid": os.getppid()}, running_here=False)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    assert is_interrupted({"state": "running", "pid": int(finished.stdout)}, running_here=False)
