import pytest

from artcnn.prediction import ArtworkResult
from artcnn.results_csv import finished_files, result_columns, write_results_csv

CLASSES = ["han", "kom"]


def result(name, p_kom=0.8):
    return ArtworkResult(file=name, sha256="ab", width=32, height=32, used_width=32, used_height=32, tiles=1,
                         probabilities={"han": 1 - p_kom, "kom": p_kom}, label="kom", confidence=p_kom)


def test_a_missing_or_empty_csv_has_no_finished_files(tmp_path):
    assert finished_files(tmp_path / "none.csv", result_columns(CLASSES)) == set()
    (tmp_path / "empty.csv").write_text("")
    assert finished_files(tmp_path / "empty.csv", result_columns(CLASSES)) == set()


def test_appended_rows_follow_the_first_ones_under_one_header(tmp_path):
    out = tmp_path / "results.csv"
    write_results_csv([result("a.png"), result("b.png")], out, CLASSES, "m")
    assert finished_files(out, result_columns(CLASSES)) == {"a.png", "b.png"}
    assert write_results_csv([result("c.png")], out, CLASSES, "m", append=True) == 1
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and lines[0].startswith("file,") and lines[3].startswith("c.png,")


def test_a_row_cut_off_mid_line_is_removed(tmp_path):
    out = tmp_path / "results.csv"
    write_results_csv([result("a.png"), result("b.png")], out, CLASSES, "m")
    whole = out.read_text(encoding="utf-8")
    out.write_text(whole[:-10], encoding="utf-8")
    assert finished_files(out, result_columns(CLASSES)) == {"a.png"}
    assert out.read_text(encoding="utf-8") == "".join(whole.splitlines(keepends=True)[:2])


def test_a_csv_of_other_columns_is_refused_untouched(tmp_path):
    out = tmp_path / "results.csv"
    write_results_csv([result("a.png")], out, CLASSES, "m")
    before = out.read_bytes()
    with pytest.raises(ValueError, match=r"results.csv has other columns than this run would write.*Received: "):
        finished_files(out, result_columns(["cat", "dog"]))
    assert out.read_bytes() == before
