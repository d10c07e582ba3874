"""`python -m artcnn` at the edges: limit flags, exit codes and messages, and the README's Limits
section kept true to the code's defaults."""

import json
import re
import sys
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


@pytest.fixture
def bright_classification(tmp_path):
    keras = pytest.importorskip("keras")
    from artcnn.storage import save_model

    model = save_model(badfiles.brightness_model(keras), tmp_path / "bright.keras", badfiles.METADATA)
    for index in range(7):
        badfiles.noise(tmp_path / "art" / f"a_{index}.png", (32 * (1 + index % 2), 32), seed=index)
    badfiles.truncated_jpeg(tmp_path / "art" / "b_broken.jpg")
    whole = tmp_path / "whole.csv"
    assert cli.main(["classify", str(model), str(tmp_path / "art"), "--out", str(whole), "--batch-size", "3"]) == 0
    return model, tmp_path / "art", whole.read_text(encoding="utf-8")


def test_a_run_cut_short_then_resumed_gives_the_csv_of_one_whole_run(bright_classification, tmp_path, capsys,
                                                                     monkeypatch):
    model, art, whole = bright_classification
    out = tmp_path / "results.csv"
    seen = []

    def interrupt_at_the_fourth(self, event):
        if event.payload is not None:
            seen.append(event.payload.file)
            if len(seen) == 4:
                raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(cli.TerminalBar, "update", interrupt_at_the_fourth)
        assert cli.main(["classify", str(model), str(art), "--out", str(out), "--batch-size", "3"]) == 130
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + 3
    capsys.readouterr()
    assert cli.main(["classify", str(model), str(art), "--out", str(out), "--batch-size", "3", "--resume"]) == 0
    assert "5 artworks classified (1 could not be read; 3 already in" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == whole
    # Once everything is there, resuming has nothing to do and changes nothing.
    assert cli.main(["classify", str(model), str(art), "--out", str(out), "--resume"]) == 0
    assert "nothing left to classify" in capsys.readouterr().out and out.read_text(encoding="utf-8") == whole


def test_resume_redoes_a_row_cut_off_mid_line(bright_classification, tmp_path):
    model, art, whole = bright_classification
    out = tmp_path / "results.csv"
    lines = whole.splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:20], encoding="utf-8")
    assert cli.main(["classify", str(model), str(art), "--out", str(out), "--batch-size", "3", "--resume"]) == 0
    assert out.read_text(encoding="utf-8") == whole


def test_resume_refuses_a_csv_of_other_columns(bright_classification, tmp_path, capsys):
    model, art, _ = bright_classification
    out = tmp_path / "results.csv"
    out.write_text("file,p_cat,p_dog\nx.png,0.1,0.9\n", encoding="utf-8")
    assert cli.main(["classify", str(model), str(art), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "results.csv has other columns than this run would write" in err and "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "file,p_cat,p_dog\nx.png,0.1,0.9\n"


def test_engine_ray_without_ray_says_how_to_install_it(bright_classification, tmp_path, capsys, monkeypatch):
    model, art, _ = bright_classification
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as where it is not installed
    out = tmp_path / "results.csv"
    assert cli.main(["classify", str(model), str(art), "--out", str(out), "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    assert "--engine ray needs Ray, which is not installed here: pip install -r requirements-ray.txt" in err
    assert "Traceback" not in err and not out.exists()


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="Received: engine='spark'"):
        PredictConfig(engine="spark")


def test_a_ray_run_that_fails_part_way_keeps_its_rows_and_resumes(bright_classification, tmp_path, capsys,
                                                                  monkeypatch):
    from artcnn import ray_engine

    model, art, whole = bright_classification

    def three_then_lost(model, metadata, inputs, tiling, config, stop=None):
        from artcnn.prediction import _scored_locally

        for done, artwork in enumerate(_scored_locally(model, metadata, inputs, tiling, config, stop)):
            if done == 3:
                raise ray_engine.EngineFailed("the Ray run failed (ActorDiedError: the actor died)")
            yield artwork

    monkeypatch.setattr(ray_engine, "connect", lambda address=None: None)
    monkeypatch.setattr(ray_engine, "scored_on_ray", three_then_lost)
    out = tmp_path / "results.csv"
    assert cli.main(["classify", str(model), str(art), "--out", str(out), "--batch-size", "3", "--engine", "ray"]) == 1
    err = capsys.readouterr().err
    assert "the Ray run failed (ActorDiedError: the actor died). The 3 rows written so far are in" in err
    assert "--resume" in err and "Traceback" not in err
    assert cli.main(["classify", str(model), str(art), "--out", str(out), "--batch-size", "3", "--resume"]) == 0
    assert out.read_text(encoding="utf-8") == whole


def test_tile_and_crossval_take_the_whole_view_flag_both_ways():
    parser = cli.build_parser()
    assert cli._tiling_config(parser.parse_args(["tile", "art", "ds"])) == TilingConfig()  # noqa: SLF001
    for flag in ("--whole-view", "--no-whole-view"):
        wanted = flag == "--whole-view"
        assert cli._tiling_config(parser.parse_args(["tile", "art", "ds", flag])).whole_view is wanted  # noqa: SLF001
        assert parser.parse_args(["crossval", "art", flag]).whole_view is wanted


def test_statistics_measures_an_earlier_datasets_statistics_again_or_says_why_not(tmp_path, capsys):
    from artcnn.dataset import STATISTICS_FILE
    from artcnn.image_statistics import FIRST_NAMES

    art, dataset = tmp_path / "art", tmp_path / "dataset"
    for seed, file in enumerate(("han/a.png", "han/b.png", "kom/c.png", "kom/d.png")):
        badfiles.noise(art / file, (40, 40), seed=seed)
    assert cli.main(["tile", str(art), str(dataset), "--tile-size", "32"]) == 0
    pd.read_csv(dataset / STATISTICS_FILE)[["artwork", "view", *FIRST_NAMES]].to_csv(dataset / STATISTICS_FILE,
                                                                                    index=False)
    capsys.readouterr()

    assert cli.main(["statistics", str(dataset)]) == 0
    assert "global statistics of 4 artworks measured again" in capsys.readouterr().out
    assert cli.main(["statistics", str(dataset)]) == 0
    assert "already has the current global statistics" in capsys.readouterr().out

    pd.read_csv(dataset / STATISTICS_FILE).drop(columns=["view"]).to_csv(dataset / STATISTICS_FILE, index=False)
    assert cli.main(["statistics", str(dataset)]) == 2
    assert "Measure its statistics again (python -m artcnn statistics DATASET" in capsys.readouterr().err
    assert cli.main(["statistics", str(dataset), "--force"]) == 0  # a damaged file is measured anew
    capsys.readouterr()

    (art / "kom" / "d.png").unlink()
    assert cli.main(["statistics", str(dataset), "--force"]) == 2
    assert "kom/d.png (no longer where the dataset found it)" in capsys.readouterr().err
