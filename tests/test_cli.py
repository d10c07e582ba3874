"""`python -m artcnn` at the edges: limit flags, exit codes and messages, and the README's Limits
section kept true to the code's defaults."""

import json
import re
import tomllib
from pathlib import Path

import badfiles
import pandas as pd
import pytest

from artcnn import cli
from artcnn.config import DEFAULT_DECODE_PIXELS, ImageLimits, PredictConfig, TilingConfig
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


@pytest.mark.parametrize("folder, message", [
    ("my_collection/", "my_collection/ does not exist"),
    ("empty", "empty holds no images (looked for .jpg, .jpeg, .png,"),
])
def test_classify_refuses_a_missing_or_image_less_folder_before_any_work(tmp_path, capsys, monkeypatch, folder,
                                                                         message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an artwork")

    assert cli.main(["classify", str(REPO / "models" / "demo.keras"), folder, "--out", "results.csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and "Traceback" not in err
    assert not (tmp_path / "results.csv").exists()


def test_classify_names_the_demo_model_as_synthetic_in_every_row_and_warns(tmp_path, capsys):
    pytest.importorskip("keras")
    badfiles.noise(tmp_path / "art" / "a.png", (160, 140))
    badfiles.noise(tmp_path / "art" / "b.png", (140, 160), seed=1)

    out = tmp_path / "results.csv"
    assert cli.main(["classify", str(REPO / "models" / "demo.keras"), str(tmp_path / "art"), "--out", str(out)]) == 0
    assert set(pd.read_csv(out)["model"]) == {"demo (synthetic)"} and len(pd.read_csv(out)) == 2
    assert "warning: The model demo (synthetic) was trained on synthetic pictures only" in capsys.readouterr().err


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


def test_evaluate_prints_a_summary_or_with_json_every_figure(populated_workspace, capsys):
    model, dataset = populated_workspace.run_dir("first") / "model.keras", populated_workspace.dataset_dir("tiny")
    assert cli.main(["evaluate", str(model), str(dataset)]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("test accuracy: tiles") and len(summary.splitlines()) <= 10
    assert "true han" in summary and "true kom" in summary
    assert cli.main(["evaluate", str(model), str(dataset), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == ["han", "kom"]
