"""The CLI's terminal output: progress lines fitted to the width, one line per task in a log file, and
the metrics summary."""

import io
import os
import sys

from artcnn import terminal
from artcnn.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_bar_fits_the_width_without_cutting_a_field(monkeypatch):
    monkeypatch.setattr(terminal.shutil, "get_terminal_size", lambda: os.terminal_size((100, 24)))
    fields = ["epoch 1/3", "batch 30/30", "loss 0.6931", "accuracy 0.5000", "val_loss 0.6904", "val_accuracy 0.5250"]
    stream = Terminal()
    with terminal.TerminalBar(stream) as bar:
        bar.update(Progress("training", 30, 30, " · ".join(fields)))
    drawn = stream.getvalue().rsplit("\r", 1)[1].rstrip()
    assert len(drawn) <= 99 and drawn.endswith(" …") and "training: 30/30" in drawn
    shown = drawn.removesuffix(" …").split(" · ")[1:]
    assert shown and shown == fields[:len(shown)]


def test_in_a_log_file_each_task_writes_its_last_line_once():
    stream = io.StringIO()
    with terminal.TerminalBar(stream) as bar:
        for done in range(1, 5):
            bar.update(Progress("training", done, 4, "epoch 1/1 loss=0.7"))
        bar.update(Progress("training", 4, 4, "epoch 1/1 loss=0.7 val_loss=0.69"))  # the epoch's end, with its test
        bar.update(Progress("classifying", 1, None, "a.png"))
        bar.update(Progress("classifying", 2, 2, "b.png"))
        for done in (1, 2):  # a fold that stops early (early stopping), then the next fold from its start
            bar.update(Progress("training", done, 8, f"fold 1/2 · batch {done}"))
        bar.update(Progress("training", 1, 8, "fold 2/2 · batch 1"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "4/4" in lines[0] and lines[0].endswith("val_loss=0.69")
    assert lines[1].endswith("classifying: 2/2 · b.png")
    assert lines[2].endswith("training: 2/8 · fold 1/2 · batch 2") and lines[3].endswith("fold 2/2 · batch 1")


def test_the_metrics_summary_has_a_row_and_a_column_per_class():
    metrics = {"classes": ["han", "kom", "photo"], "roc_auc": None, "n_tiles": 90, "n_artworks": 9,
               "tile_accuracy": {"value": 0.8, "low": 0.7, "high": 0.9},
               "artwork_accuracy": {"value": 7 / 9, "low": 0.45, "high": 0.94},
               "artwork_confusion": [[3, 0, 0], [1, 2, 0], [0, 1, 2]], "misclassified": [{}, {}]}
    lines = terminal.metrics_summary(metrics, "all").splitlines()
    assert lines[0].startswith("train and test accuracy: tiles 80.0%") and "undefined" in lines[1]
    assert lines[3].split() == ["han", "kom", "photo"]
    assert [line.split()[-3:] for line in lines[4:7]] == [["3", "0", "0"], ["1", "2", "0"], ["0", "1", "2"]]
    assert lines[-1] == "2 artworks misclassified (listed with --json)"


def test_a_failed_task_leaves_the_log_its_error_alone():
    stream = io.StringIO()
    try:
        with terminal.TerminalBar(stream) as bar:
            bar.update(Progress("training", 0, None, "loading TensorFlow"))
            raise ValueError("no dataset")
    except ValueError:
        pass
    assert stream.getvalue() == ""


def test_a_modules_start_up_notices_are_dropped_from_stderr_and_nothing_else(tmp_path, monkeypatch, capfd):
    (tmp_path / "noisy_native.py").write_text(
        "import os\n"
        "for line in (b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n',\n"
        "             b'I0000 port.cc:153] oneDNN custom operations are on.\\n', b'a real problem\\n') * 2:\n"
        "    os.write(2, line)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "noisy_native", raising=False)

    terminal.drop_import_notices("noisy_native", terminal.TENSORFLOW_NOTICES)
    import noisy_native

    assert capfd.readouterr().err == "a real problem\na real problem\n"
    assert noisy_native.__loader__.__class__.__name__ != "_HeldStderrLoader"
    # Only the first import is watched: the finder is gone once it has served.
    assert not any(isinstance(finder, terminal._NoticeDropper) for finder in sys.meta_path)


def test_tensorflow_notices_are_kept_when_the_user_asks_for_info_logs(monkeypatch):
    installed = []
    monkeypatch.setattr(terminal, "drop_import_notices", lambda module, notices: installed.append(module))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    terminal.quiet_tensorflow()
    assert installed == []
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    terminal.quiet_tensorflow()
    assert installed == ["tensorflow"]
