"""`python -m artcnn` at the edges: limit flags, exit codes and messages, and the README's Limits
section kept true to the code's defaults."""

import io
import json
import os
import re
import tomllib
from pathlib import Path

import badfiles
import pandas as pd
import pytest

from artcnn import cli
from artcnn.config import DEFAULT_DECODE_PIXELS, ImageLimits, PredictConfig, TilingConfig
from artcnn.progress import Progress
from artcnn.uploads import UploadLimits

REPO = Path(__file__).resolve().parents[1]


def test_lowering_max_pixels_alone_lowers_the_decode_limit_too(tmp_path, capsys):
    art = tmp_path / "art"
    badfiles.noise(art / "han" / "a.png", (40, 40))
    badfiles.noise(art / "han" / "wide.png", (3000, 40), seed=1)
    badfiles.noise(art / "kom" / "b.png", (40, 40), seed=2)

    code = cli.main(["tile", str(art), str(tmp_path / "dataset"), "--tile-size", "32", "--max-pixels", "100000"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"skipped {art / 'han' / 'wide.png'}: image is 3000×40 = 120,000 pixels, over the limit of 100,000" in err
    assert set(pd.read_csv(tmp_path / "dataset" / "manifest.csv")["artwork"]) == {
        str(art / "han" / "a.png"), str(art / "kom" / "b.png")}
    assert ImageLimits(max_pixels=100_000).decode_pixels == 100_000


@pytest.mark.parametrize("arguments", [
    ["classify", "{tmp}/missing.keras", "{tmp}", "--out", "{tmp}/r.csv"],
    ["evaluate", "{tmp}/missing.h5", "{tmp}"],
    ["tile", "{tmp}/no_such_folder", "{tmp}/dataset"],
    ["train", "{tmp}/no_such_dataset", "{tmp}/run", "--weights", "none"],
])
def test_a_missing_input_is_named_with_exit_code_2(tmp_path, capsys, arguments):
    arguments = [argument.format(tmp=tmp_path) for argument in arguments]
    assert cli.main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(tmp_path / Path(arguments[1]).name) in err


def limits_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]


def test_readme_limits_state_the_defaults_in_the_code():
    section = limits_section()
    upload_size = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    defaults = [
        f"{ImageLimits().max_pixels:,}",
        f"{DEFAULT_DECODE_PIXELS:,}",
        f"{UploadLimits().max_files:,}",
        f"{UploadLimits().max_total_bytes:,}",
        f"{UploadLimits().max_ratio:g}×",
        f"{upload_size} MB",
        f"| {PredictConfig().max_tiles} |",
        f"| {TilingConfig().tiles_per_artwork} at random places |",
    ]
    for default in defaults:
        assert default in section, default


def test_readme_limits_name_flags_the_cli_has():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse keeps subcommands here
    named = re.findall(r"`(--[\w-]+)[^`]*` \(([\w, ]+)\)", limits_section())
    assert len(named) == 6
    for flag, names in named:
        for name in names.split(", "):
            known = {option for action in commands[name]._actions for option in action.option_strings}  # noqa: SLF001
            assert flag in known, (name, flag)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_bar_fits_the_width_without_cutting_a_field(monkeypatch):
    monkeypatch.setattr(cli.shutil, "get_terminal_size", lambda: os.terminal_size((100, 24)))
    fields = ["epoch 1/3", "batch 30/30", "loss 0.6931", "accuracy 0.5000", "val_loss 0.6904", "val_accuracy 0.5250"]
    stream = Terminal()
    with cli.TerminalBar(stream) as bar:
        bar.update(Progress("training", 30, 30, " · ".join(fields)))
    drawn = stream.getvalue().rsplit("\r", 1)[1].rstrip()
    assert len(drawn) <= 99 and drawn.endswith(" …") and "training: 30/30" in drawn
    shown = drawn.removesuffix(" …").split(" · ")[1:]
    assert shown and shown == fields[:len(shown)]


def test_in_a_log_file_each_task_writes_its_last_line_once():
    stream = io.StringIO()
    with cli.TerminalBar(stream) as bar:
        for done in range(1, 5):
            bar.update(Progress("training", done, 4, "epoch 1/1 loss=0.7"))
        bar.update(Progress("training", 4, 4, "epoch 1/1 loss=0.7 val_loss=0.69"))  # the epoch's end, with its test
        bar.update(Progress("classifying", 1, None, "a.png"))
        bar.update(Progress("classifying", 2, 2, "b.png"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "4/4" in lines[0] and lines[0].endswith("val_loss=0.69")
    assert lines[1].endswith("classifying: 2/2 · b.png")


def test_evaluate_prints_a_summary_or_with_json_every_figure(populated_workspace, capsys):
    model, dataset = populated_workspace.run_dir("first") / "model.keras", populated_workspace.dataset_dir("tiny")
    assert cli.main(["evaluate", str(model), str(dataset)]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("test accuracy: tiles") and len(summary.splitlines()) <= 10
    assert "true han" in summary and "true kom" in summary
    assert cli.main(["evaluate", str(model), str(dataset), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == ["han", "kom"]
