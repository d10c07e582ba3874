"""Issue 5, bad inputs: every bad file gets a clear message naming it and the problem, and the good
files of the same batch are still processed, at every entry point: `python -m artcnn tile` and
`classify` (cli.main in-process), and the core calls the upload widgets make (uploads.extract_zip,
dataset_build.build_dataset, prediction.classify, storage.load_model). Every bad case is built here."""

import csv
import dataclasses
import io
import json
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

keras = pytest.importorskip("keras")

import badfiles  # noqa: E402
from badfiles import METADATA, ODD_MODES, TILE, p_kom  # noqa: E402

from artcnn import cli, run_folder, training  # noqa: E402
from artcnn.config import ImageLimits, PredictConfig, TilingConfig, TrainConfig, validate_name  # noqa: E402
from artcnn.dataset_build import build_dataset  # noqa: E402
from artcnn.images import ArtworkError, load_artwork  # noqa: E402
from artcnn.prediction import classify  # noqa: E402
from artcnn.storage import load_model, save_model  # noqa: E402
from artcnn.uploads import UploadLimits, extract_zip  # noqa: E402
from artcnn.workspace import Workspace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# Small limits keep the "big ordinary image" case fast: a 3000×2000 scan is reduced to 1500×1000.
LIMITS = ImageLimits(max_pixels=8_000_000, decode_pixels=1_500_000)
LIMIT_FLAGS = ["--max-pixels", str(LIMITS.max_pixels), "--decode-pixels", str(LIMITS.decode_pixels)]
TILING = TilingConfig(tile_size=TILE, tiles_per_artwork=2, blank_threshold=0.0, limits=LIMITS)
TILE_FLAGS = ["--tile-size", str(TILE), "--tiles-per-artwork", "2", "--blank-threshold", "0", *LIMIT_FLAGS]
# Each bad file of the messy collection, with words its reason must contain.
BAD = {
    "bomb.png": ["20000×20000", "decompression bomb", "max_pixels"],
    "truncated.jpg": ["truncated"],
    "letter.png": ["not an image"],
    "catalogue.jpg": ["not an image"],
    "nothing.tif": ["empty file"],
}
ODD_SIZES = {"dot.png", "strip.png", "panorama.png"}


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    """A collection with every bad and odd image of the issue among good ones, in two class folders."""
    root = tmp_path_factory.mktemp("messy")
    han, kom = root / "han", root / "kom"
    badfiles.noise(han / "good_a.png", (64, 48), seed=1)
    badfiles.noise(han / "good_b.jpg", (48, 64), seed=2, quality=95)
    badfiles.png_bomb(han / "bomb.png")
    badfiles.truncated_jpeg(han / "truncated.jpg")
    badfiles.not_images(han)
    badfiles.odd_modes(han)
    badfiles.exif_rotated_jpeg(han / "exif_rotated.jpg")
    badfiles.odd_sizes(han)
    (han / "notes.txt").write_text("a curator's note beside the images", encoding="utf-8")
    badfiles.noise(kom / "good_c.png", (40, 40), seed=3)
    badfiles.noise(kom / "good_d.png", (50, 70), seed=4)
    # An ordinary big scan (6 Mpixels here, 50 in a museum): reduced on decode, never refused.
    small = np.random.default_rng(5).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    Image.fromarray(small).resize((3000, 2000), Image.NEAREST).save(kom / "big_scan.jpg", quality=90)
    return root


def good_files(root: Path) -> set[str]:
    return {str(path) for path in root.rglob("*") if path.is_file() and path.suffix != ".txt"
            and path.name not in BAD}


def assert_reasons(skipped: dict[str, str]) -> None:
    """`skipped` maps file name → reason; every bad file is there with its problem, nothing else is."""
    assert set(skipped) == set(BAD)
    for name, words in BAD.items():
        for word in words:
            assert word in skipped[name], (name, skipped[name])


def json_skipped(dataset: Path) -> list[dict]:
    return json.loads((dataset / "dataset.json").read_text(encoding="utf-8"))["skipped"]


# --- artwork files: tiling --------------------------------------------------------------------


def test_build_dataset_skips_each_bad_file_with_its_reason_and_tiles_every_good_one(messy, tmp_path):
    report = build_dataset(messy, tmp_path / "dataset", TILING)

    by_name = {Path(entry["file"]).name: entry["reason"] for entry in report.skipped}
    assert "not an image file" in by_name.pop("notes.txt")
    assert_reasons(by_name)
    manifest = pd.read_csv(tmp_path / "dataset" / "manifest.csv")
    assert set(manifest["artwork"]) == good_files(messy)
    assert {Path(file).name for file in report.upscaled} == {"dot.png", "strip.png"}
    assert json_skipped(tmp_path / "dataset") == report.skipped


def test_cli_tile_names_each_bad_file_and_writes_the_dataset(messy, tmp_path, capsys):
    code = cli.main(["tile", str(messy), str(tmp_path / "dataset"), *TILE_FLAGS])

    out, err = capsys.readouterr()
    assert code == 0, err
    skipped = dict(line.removeprefix("skipped ").split(": ", 1) for line in err.splitlines()
                   if line.startswith("skipped "))
    by_name = {Path(file).name: reason for file, reason in skipped.items()}
    by_name.pop("notes.txt")
    assert_reasons(by_name)
    assert f"dataset written to {tmp_path / 'dataset'}" in out
    assert set(pd.read_csv(tmp_path / "dataset" / "manifest.csv")["artwork"]) == good_files(messy)


def test_big_image_is_reduced_on_decode_and_a_bomb_is_refused_by_default_limits(messy, tmp_path):
    big = load_artwork(messy / "kom" / "big_scan.jpg", LIMITS)
    assert big.size == (1500, 1000)
    panorama = load_artwork(messy / "han" / "panorama.png", LIMITS)
    assert panorama.width * panorama.height <= LIMITS.decode_pixels
    assert panorama.width / panorama.height == pytest.approx(100, rel=0.02)
    # The defaults take an ordinary 50-Mpixel scan (by its header: checked without decoding it)...
    assert ImageLimits().max_pixels >= 50_000_000 and ImageLimits().decode_pixels <= ImageLimits().max_pixels
    # ...and refuse the 20000×20000 header the issue names (Pillow's own bomb guard would too).
    for width, height in ((20_000, 20_000), (30_000, 20_000)):
        bomb = badfiles.png_bomb(tmp_path / f"bomb_{width}.png", width, height)
        with pytest.raises(ArtworkError, match="decompression bomb") as refused:
            load_artwork(bomb)
        assert refused.value.path == str(bomb) and f"{width}×{height}" in refused.value.reason


def test_a_bomb_is_refused_without_allocating_its_pixels(tmp_path):
    """Under a 1 GiB address-space limit, decoding the 20000×20000 RGB bomb (1.2 GB) could not even start."""
    bomb = badfiles.png_bomb(tmp_path / "bomb.png")
    script = (
        "import resource, sys\n"
        "from artcnn.images import ArtworkError, load_artwork\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "try:\n"
        f"    load_artwork({str(bomb)!r})\n"
        "except ArtworkError as error:\n"
        "    print(error.reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "possible decompression bomb" in done.stdout, done.stdout + done.stderr
    assert "MemoryError" not in done.stdout


def test_exif_rotated_photo_is_tiled_upright(messy, tmp_path):
    photo = {"han": [messy / "han" / "exif_rotated.jpg"], "kom": [messy / "kom" / "good_c.png"]}
    build_dataset(photo, tmp_path / "dataset", dataclasses.replace(TILING, grid=True, test_fraction=0.0,
                                                                                whole_view=False))

    manifest = pd.read_csv(tmp_path / "dataset" / "manifest.csv")
    tiles = manifest[manifest["class"] == "han"].sort_values("y")
    # Upright the photo is 32 wide, 64 tall: black on top, white below.
    assert list(zip(tiles["x"], tiles["y"])) == [(0, 0), (0, TILE)]
    means = [np.asarray(Image.open(tmp_path / "dataset" / tile)).mean() for tile in tiles["tile"]]
    assert means[0] < 10 and means[1] > 245


# --- artwork files: classification -------------------------------------------------------------


@pytest.fixture(scope="module")
def brightness(tmp_path_factory):
    model = badfiles.brightness_model(keras)
    return model, save_model(model, tmp_path_factory.mktemp("model") / "brightness.keras", METADATA)


def check_results(results, messy: Path) -> None:
    by_name = {Path(result.file).name: result for result in results}
    assert set(by_name) == {Path(file).name for file in good_files(messy)} | set(BAD)
    assert_reasons({name: result.error for name, result in by_name.items() if result.error})
    for name, colour in ODD_MODES.items():
        assert by_name[name].probabilities["kom"] == pytest.approx(p_kom(colour), abs=2e-3), name
    rotated = by_name["exif_rotated.jpg"]
    assert (rotated.width, rotated.height) == (TILE, 2 * TILE)
    assert sorted((x, y, round(p[1], 3)) for x, y, _, p in rotated.tile_boxes) == [
        (0, 0, round(p_kom((0, 0, 0)), 3)), (0, TILE, round(p_kom((255, 255, 255)), 3))]
    for name in ODD_SIZES | {"good_a.png", "good_b.jpg", "good_c.png", "good_d.png", "big_scan.jpg"}:
        assert by_name[name].label in ("han", "kom") and by_name[name].tiles >= 1, name
    big = by_name["big_scan.jpg"]  # reduced on decode: the file's own size kept beside the size used
    assert ((big.width, big.height), (big.used_width, big.used_height)) == ((3000, 2000), (1500, 1000))
    assert "reduced from 3000×2000" in big.note
    assert by_name["panorama.png"].tiles <= PredictConfig().max_tiles


def test_classify_reports_each_bad_file_and_classifies_every_good_one(brightness, messy):
    model, _ = brightness
    results = list(classify((model, METADATA), [messy], PredictConfig(batch_size=16, limits=LIMITS)))
    check_results(results, messy)


def test_cli_classify_names_each_bad_file_and_writes_every_row(brightness, messy, tmp_path, capsys):
    _, path = brightness
    out_csv = tmp_path / "results.csv"
    code = cli.main(["classify", str(path), str(messy), "--out", str(out_csv), "--batch-size", "16", *LIMIT_FLAGS])

    out, err = capsys.readouterr()
    assert code == 0, err
    skipped = dict(line.removeprefix("skipped ").split(": ", 1) for line in err.splitlines()
                   if line.startswith("skipped "))
    assert_reasons({Path(file).name: reason for file, reason in skipped.items()})
    with open(out_csv, newline="", encoding="utf-8") as handle:
        rows = {Path(row["file"]).name: row for row in csv.DictReader(handle)}
    assert set(rows) == {Path(file).name for file in good_files(messy)} | set(BAD)
    assert all(rows[name]["label"] in ("han", "kom") for name in rows if name not in BAD)
    assert f"{len(rows)} artworks classified ({len(BAD)} could not be read)" in out


def test_cli_refuses_limits_that_contradict_each_other(messy, tmp_path, capsys):
    code = cli.main(["tile", str(messy), str(tmp_path / "dataset"), "--max-pixels", "1000", "--decode-pixels", "2000"])
    assert code == 2
    assert "decode_pixels must be positive and at most max_pixels" in capsys.readouterr().err
    assert not (tmp_path / "dataset").exists()


# --- zip uploads ---------------------------------------------------------------------------------


def listing(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def upload(path: Path) -> io.BytesIO:
    """The zip as the upload widget hands it over: a file-like object with a name."""
    data = io.BytesIO(path.read_bytes())
    data.name = path.name
    return data


def test_zip_with_unsafe_and_junk_members_extracts_only_its_images_inside_dest(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    absolute = outside / "absolute.png"
    nested = badfiles.make_zip(tmp_path / "inner.zip", {"han/hidden.png": badfiles.png_bytes()})
    archive = badfiles.make_zip(tmp_path / "upload.zip", {
        "han/a.png": badfiles.png_bytes(seed=1),
        "../../escape.png": badfiles.png_bytes(),
        "han/../../../climb.png": badfiles.png_bytes(),
        str(absolute): badfiles.png_bytes(),
        "C:\\Windows\\drive.png": badfiles.png_bytes(),
        "more_art.zip": nested.read_bytes(),
        "__MACOSX/han/._a.png": b"\x00\x05\x16\x07 resource fork",
        "han/._a.png": b"\x00\x05\x16\x07 resource fork",
        "han/.DS_Store": b"Bud1",
        "han/notes.txt": b"not an artwork",
        "kom/b.png": badfiles.png_bytes(seed=2),
        # Written after the link below would be, so a link (if made) would carry it outside.
        "kom/link/after_link.png": badfiles.png_bytes(seed=3),
    }, symlinks={"han/passwd.png": "/etc/passwd", "kom/link": str(outside)})
    dest = tmp_path / "workspace" / "uploads" / "mine"
    before = listing(tmp_path)

    report = extract_zip(upload(archive), dest)

    assert [path.relative_to(dest.resolve()).as_posix() for path in report.files] == [
        "han/a.png", "kom/b.png", "kom/link/after_link.png"]
    assert not any(path.is_symlink() for path in dest.rglob("*"))
    made_for_dest = {str(folder.relative_to(tmp_path)) for folder in (dest.parent, dest.parent.parent)}
    assert {path for path in listing(tmp_path) - before if not (tmp_path / path).is_relative_to(dest)} == made_for_dest
    assert not absolute.exists() and listing(outside) == set()
    reasons = {entry["file"]: entry["reason"] for entry in report.skipped}
    for name in ("../../escape.png", "han/../../../climb.png", str(absolute), "C:\\Windows\\drive.png"):
        assert "unsafe path" in reasons[name]
    assert "symbolic link" in reasons["han/passwd.png"] and "symbolic link" in reasons["kom/link"]
    assert "nested zip" in reasons["more_art.zip"]
    for name in ("__MACOSX/han/._a.png", "han/._a.png", "han/.DS_Store"):
        assert name in reasons
    assert "not an image file" in reasons["han/notes.txt"]


def test_extracted_upload_tiles_like_a_folder(tmp_path):
    archive = badfiles.make_zip(tmp_path / "collection.zip", {
        **{f"han/h{index}.png": badfiles.png_bytes(seed=index) for index in range(2)},
        **{f"kom/k{index}.png": badfiles.png_bytes(seed=10 + index) for index in range(2)},
        "kom/broken.png": badfiles.png_bytes()[:40],
        "__MACOSX/kom/._k0.png": b"junk",
    })
    dest = tmp_path / "uploads" / "collection"
    extract_zip(upload(archive), dest)

    report = build_dataset(dest, tmp_path / "dataset", TILING)
    assert report.classes == ["han", "kom"]
    assert [(Path(entry["file"]).name, "cannot decode" in entry["reason"] or "not an image" in entry["reason"])
            for entry in report.skipped] == [("broken.png", True)]


@pytest.mark.parametrize(("limits", "members", "message"), [
    (UploadLimits(), {"han/huge.png": bytes(4 << 20)}, "would expand"),
    (UploadLimits(max_total_bytes=5_000), {f"han/{i}.png": badfiles.png_bytes(seed=i) for i in range(3)},
     "more than 5,000 bytes"),
    (UploadLimits(max_files=3), {f"han/{i}.png": badfiles.png_bytes(seed=i) for i in range(5)},
     "holds 5 image files, over the limit of 3"),
])
def test_zip_bombs_are_refused_whole_and_limits_are_configurable(tmp_path, limits, members, message):
    archive = badfiles.make_zip(tmp_path / "bomb.zip", members)
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match=message) as refused:
        extract_zip(upload(archive), dest, limits)
    assert "bomb.zip" in str(refused.value) and "UploadLimits." in str(refused.value)
    assert listing(dest) == set()

    generous = UploadLimits(max_files=10, max_total_bytes=10 << 20, max_ratio=10_000)
    assert len(extract_zip(upload(archive), tmp_path / "generous", generous).files) == len(members)


@pytest.mark.parametrize(("members", "message"), [
    ({}, "is empty"),
    ({"readme.txt": b"hello", "__MACOSX/._x.png": b"junk", "art.pdf": b"%PDF-1.4"}, "holds no image files"),
])
def test_zip_without_images_is_refused_by_name(tmp_path, members, message):
    archive = badfiles.make_zip(tmp_path / "nothing.zip", members)
    with pytest.raises(ValueError, match=f"nothing.zip {message}"):
        extract_zip(upload(archive), tmp_path / "dest")


def test_a_file_that_is_not_a_zip_is_refused_by_name(tmp_path):
    fake = tmp_path / "holiday.zip"
    fake.write_bytes(badfiles.png_bytes())
    with pytest.raises(ValueError, match="holiday.zip is not a readable zip archive"):
        extract_zip(upload(fake), tmp_path / "dest")


def test_the_upload_widget_keeps_every_file_inside_its_folder(tmp_path):
    """app_widgets.save_uploads, fed what st.file_uploader hands over: untrusted names and zips."""
    app_widgets = pytest.importorskip("app_widgets")
    bomb = badfiles.make_zip(tmp_path / "bomb.zip", {"han/huge.png": bytes(4 << 20)})
    good = badfiles.make_zip(tmp_path / "good.zip", {"han/a.png": badfiles.png_bytes(seed=1),
                                                    "../evil.png": badfiles.png_bytes()})

    def uploaded(name: str, data: bytes) -> io.BytesIO:
        file = io.BytesIO(data)
        file.name = name
        return file

    dest = tmp_path / "workspace" / "uploads" / "batch"
    files = [uploaded("../../escape.png", badfiles.png_bytes(seed=2)),
             uploaded("C:\\Users\\me\\paint.png", badfiles.png_bytes(seed=3)),
             uploaded("escape.png", badfiles.png_bytes(seed=4)),
             uploaded("notes.txt", b"a note"),
             uploaded("bomb.zip", bomb.read_bytes()),
             uploaded("good.zip", good.read_bytes())]
    before = listing(tmp_path)

    skipped = {entry["file"]: entry["reason"] for entry in app_widgets.save_uploads(files, dest)}

    assert sorted(path.relative_to(dest).as_posix() for path in dest.rglob("*.png")) == [
        "escape (2).png", "escape.png", "good/han/a.png", "paint.png"]
    assert {path for path in listing(tmp_path) - before if not (tmp_path / path).is_relative_to(dest)} == {
        "workspace", "workspace/uploads"}
    assert "not an image file or zip" in skipped["notes.txt"]
    assert "bomb.zip" in skipped["bomb.zip"] and "zip bomb" in skipped["bomb.zip"]
    assert "unsafe path" in skipped["good.zip: ../evil.png"]


# --- class folders and names ----------------------------------------------------------------------


def test_class_folder_problems_are_named(tmp_path, capsys):
    single = tmp_path / "single"
    badfiles.noise(single / "han" / "a.png", (40, 40))
    with pytest.raises(ValueError, match=r"at least two classes .*Received: classes=\['han'\]"):
        build_dataset(single, tmp_path / "d1", TILING)

    empty = tmp_path / "empty"
    badfiles.noise(empty / "han" / "a.png", (40, 40))
    (empty / "kom").mkdir()
    (empty / "kom" / "notes.txt").write_text("no images here")
    assert cli.main(["tile", str(empty), str(tmp_path / "d2"), *TILE_FLAGS]) == 2
    assert "Class 'kom' has no image files" in capsys.readouterr().err

    only_bad = tmp_path / "only_bad"
    badfiles.noise(only_bad / "han" / "a.png", (40, 40))
    badfiles.truncated_jpeg(only_bad / "kom" / "cut.jpg")
    with pytest.raises(ValueError, match=r"Class 'kom' has no usable artwork.*cut\.jpg: .*truncated"):
        build_dataset(only_bad, tmp_path / "d3", TILING)
    assert not any(path.name.startswith(("d1", "d2", "d3", ".d")) for path in tmp_path.iterdir())


@pytest.mark.parametrize("name", ["oil/canvas", "..", "../escape", "/etc", "han\n", "🎨art", "han\u200b",
                                  "\u202ekom", "."])
def test_class_names_that_are_not_one_safe_folder_name_are_refused(tmp_path, name):
    artworks = {name: [badfiles.noise(tmp_path / "a.png", (40, 40))],
                "kom": [badfiles.noise(tmp_path / "b.png", (40, 40), seed=1)]}
    with pytest.raises(ValueError, match="class name must be 1-64 letters") as refused:
        build_dataset(artworks, tmp_path / "dataset", TILING)
    assert repr(name) in str(refused.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.png", "b.png"]


def test_unicode_class_folders_work_end_to_end(tmp_path):
    """Accented and non-Latin names, also as macOS writes them (decomposed, NFD), are ordinary classes."""
    root = tmp_path / "art"
    names = [unicodedata.normalize("NFD", "Gemälde"), "水墨画", "Ölbild (alt)"]
    for index, name in enumerate(names):
        badfiles.noise(root / name / "a.png", (40, 40), seed=index)
        badfiles.noise(root / name / "b.png", (40, 40), seed=10 + index)
    report = build_dataset(root, tmp_path / "dataset", TILING)
    assert report.classes == sorted(names)
    assert all(report.artworks["train"][name] + report.artworks["test"][name] == 2 for name in names)


@pytest.mark.parametrize("name", ["../outside", "..", ".", "/tmp/abs", "a/../../b", "a\\..\\b", "runs\n", ""])
def test_dataset_and_run_names_cannot_escape_the_workspace(tmp_path, name):
    workspace = Workspace.open(tmp_path / "workspace")
    before = listing(tmp_path)
    for where in (workspace.dataset_dir, workspace.run_dir, workspace.model_path, workspace.upload_dir):
        with pytest.raises(ValueError, match="name must be 1-64 letters") as refused:
            where(name)
        assert repr(name) in str(refused.value)
    assert listing(tmp_path) == before
    assert validate_name("Run 2 (adam)+flips_v1.0") == "Run 2 (adam)+flips_v1.0"


# --- model files ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def foreign_models(tmp_path_factory):
    """Files a user might pick as a model that artcnn cannot use as one."""
    folder = tmp_path_factory.mktemp("foreign")
    files = {}
    files["unknown"] = folder / "model.pt"
    files["unknown"].write_bytes(b"\x80\x02torch")
    good = save_model(badfiles.brightness_model(keras), folder / "good.keras", METADATA).read_bytes()
    files["truncated"] = folder / "truncated.keras"
    files["truncated"].write_bytes(good[: len(good) // 2])
    files["not_keras"] = folder / "config_only.keras"
    with zipfile.ZipFile(files["not_keras"], "w") as archive:
        archive.writestr("config.json", "{this is not json")
    inputs = keras.Input((28, 28, 1))
    digits = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    files["grey_digits"] = folder / "digits.h5"
    digits.save(files["grey_digits"])
    files["weights_only"] = folder / "weights.h5"
    digits.save_weights(folder / "digits.weights.h5")
    (folder / "digits.weights.h5").rename(files["weights_only"])
    return files


@pytest.mark.parametrize(("kind", "message"), [
    ("unknown", r"must end in \.keras or \.h5\. Received: path=.*model\.pt"),
    ("truncated", r"not a valid \.keras file: .*truncated\.keras"),
    ("not_keras", r"not a valid \.keras file: .*config_only\.keras"),
    ("grey_digits", r"digits\.h5: the model takes inputs of shape \(None, 28, 28, 1\)"),
    ("weights_only", r"not a valid \.h5 file: .*weights\.h5 .*No model config"),
])
def test_unusable_model_files_are_refused_by_name(foreign_models, messy, tmp_path, capsys, kind, message):
    path = foreign_models[kind]
    with pytest.raises(ValueError, match=message):
        load_model(path)
    with pytest.raises(ValueError, match=message):
        classify(path, [messy / "kom"])
    assert cli.main(["classify", str(path), str(messy / "kom"), "--out", str(tmp_path / "r.csv")]) == 2
    assert "error: " in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def test_a_model_with_a_lambda_layer_needs_an_explicit_opt_in(tmp_path, messy, capsys):
    inputs = keras.Input((TILE, TILE, 3))
    doubled = keras.layers.Lambda(lambda tiles: tiles * 2.0)(inputs)
    untrusted = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.GlobalAveragePooling2D()(doubled)))
    path = save_model(untrusted, tmp_path / "untrusted.keras", METADATA)
    out_csv = tmp_path / "r.csv"

    with pytest.raises(ValueError, match=r"untrusted\.keras contains a Lambda layer .* safe_mode=False"):
        load_model(path)
    with pytest.raises(ValueError, match="Lambda layer"):
        classify(path, [messy / "kom"])
    assert cli.main(["classify", str(path), str(messy / "kom"), "--out", str(out_csv)]) == 2
    assert "--unsafe" in capsys.readouterr().err and not out_csv.exists()

    assert load_model(path, safe_mode=False)[1]["classes"] == ["han", "kom"]
    assert cli.main(["classify", str(path), str(messy / "kom"), "--out", str(out_csv), "--unsafe",
                     *LIMIT_FLAGS]) == 0
    assert len(out_csv.read_text(encoding="utf-8").splitlines()) == 1 + 3


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    from builders import write_dataset

    return write_dataset(tmp_path_factory.mktemp("tiny"), classes=("han", "kom"), artworks=2, tiles=2)


def test_evaluating_a_model_that_does_not_fit_the_dataset_is_refused(tiny_dataset, tmp_path, capsys):
    three = keras.Model(inputs := keras.Input((TILE, TILE, 3)), keras.layers.Dense(3, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    cases = {
        "three.keras": (three, {"classes": ["a", "b", "c"]}, r"3 output unit\(s\) but dataset .* has 2 classes"),
        "cats.keras": (badfiles.brightness_model(keras), {**METADATA, "classes": ["cats", "dogs"]},
                       r"classes cats, dogs but dataset .* has han, kom"),
        "big_tiles.keras": (badfiles.brightness_model(keras), {**METADATA, "tiling": {"tile_size": 256}},
                            r"256-px tiles but dataset .* has 32-px tiles"),
    }
    for name, (model, metadata, message) in cases.items():
        path = save_model(model, tmp_path / name, metadata)
        assert cli.main(["evaluate", str(path), str(tiny_dataset)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err
        assert re.search(message, err), err

    # A model that takes tiles of any size is given the dataset's as they are.
    inputs = keras.Input((None, None, 3))
    any_size = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    path = save_model(any_size, tmp_path / "any_size.keras", {"classes": ["han", "kom"], "input_size": None})
    assert cli.main(["evaluate", str(path), str(tiny_dataset), "--json"]) == 0
    assert '"n_tiles": 4' in capsys.readouterr().out


def test_resuming_with_another_dataset_or_input_size_is_refused(tiny_dataset, tmp_path):
    from builders import write_dataset

    config = TrainConfig(epochs=1, batch_size=4, test_batch_size=4, weights=None, augment=False, input_size=TILE)
    run = tmp_path / "run"
    training.train(tiny_dataset, run, config)
    checkpoint = (run / "checkpoint.keras").read_bytes()

    other = write_dataset(tmp_path / "three", classes=("a", "b", "c"), artworks=2, tiles=2)
    (other / "dataset.json").write_text((other / "dataset.json").read_text().replace("f" * 64, "e" * 64))
    with pytest.raises(ValueError, match="trained on another version of dataset"):
        training.train(other, run, dataclasses.replace(config, epochs=2), resume=True)
    with pytest.raises(ValueError, match="started with other settings.*recipe"):
        training.train(tiny_dataset, run, dataclasses.replace(config, epochs=2, recipe="seed"), resume=True)
    assert (run / "checkpoint.keras").read_bytes() == checkpoint
    assert run_folder.read_run(run)["status"]["state"] == "finished"
