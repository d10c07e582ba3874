import io
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artcnn.uploads import NESTED_ZIP, UploadLimits, extract_zip, store_upload, unpack_upload


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _zip(path: Path, members: list, compression=zipfile.ZIP_DEFLATED) -> Path:
    """members: (name, bytes) or (ZipInfo, bytes)."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return path


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _reasons(report) -> dict[str, str]:
    return {entry["file"]: entry["reason"] for entry in report.skipped}


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_images_are_extracted_keeping_folders_without_collisions(tmp_path):
    archive = _zip(tmp_path / "up.zip", [
        ("han/a.png", _png(1)), ("kom/a.png", _png(2)), ("han/a.png", _png(3)), ("top.JPG", b"jpeg"),
    ])
    dest = tmp_path / "dest"
    report = extract_zip(archive, dest)
    assert _files_under(dest) == ["han/a (2).png", "han/a.png", "kom/a.png", "top.JPG"]
    assert [p.read_bytes() for p in report.files[:3]] == [_png(1), _png(2), _png(3)]
    assert report.skipped == []


def test_existing_files_in_dest_are_never_overwritten(tmp_path):
    dest = tmp_path / "dest"
    (dest / "han").mkdir(parents=True)
    (dest / "han" / "a.png").write_bytes(b"earlier upload")
    report = extract_zip(_zip(tmp_path / "up.zip", [("han/a.png", _png(1))]), dest)
    assert (dest / "han" / "a.png").read_bytes() == b"earlier upload"
    assert report.files == [dest.resolve() / "han" / "a (2).png"]


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/tmp/evil.png", "C:/evil.png",
                                  "C:\\evil.png", "..\\evil.png"])
def test_path_traversal_is_skipped_and_nothing_leaves_dest(tmp_path, name):
    info = zipfile.ZipInfo("placeholder.png")
    info.filename = name  # ZipInfo() would clean the name; an attacker's zip does not
    archive = _zip(tmp_path / "up.zip", [(info, _png(1)), ("ok.png", _png(2))])
    dest = tmp_path / "box" / "dest"
    report = extract_zip(archive, dest)
    assert "unsafe path" in _reasons(report)[name]
    assert _files_under(tmp_path / "box") == ["dest/ok.png"]
    assert not Path("/tmp/evil.png").exists() or Path("/tmp/evil.png").read_bytes() != _png(1)


def test_symlinks_are_skipped(tmp_path):
    link = zipfile.ZipInfo("han/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    report = extract_zip(_zip(tmp_path / "up.zip", [(link, "/etc/passwd"), ("han/ok.png", _png(1))]), tmp_path / "d")
    assert "symbolic link" in _reasons(report)["han/link.png"]
    assert _files_under(tmp_path / "d") == ["han/ok.png"]


def test_a_symlink_already_in_dest_cannot_carry_files_out(tmp_path):
    outside, dest = tmp_path / "outside", tmp_path / "dest"
    outside.mkdir()
    dest.mkdir()
    (dest / "han").symlink_to(outside, target_is_directory=True)
    report = extract_zip(_zip(tmp_path / "up.zip", [("han/sub/a.png", _png(1)), ("kom/b.png", _png(2))]), dest)
    assert "leaves the destination" in _reasons(report)["han/sub/a.png"]
    assert list(outside.iterdir()) == []
    assert [p.name for p in report.files] == ["b.png"]


def test_junk_nested_zips_and_non_images_are_skipped_with_reasons(tmp_path):
    archive = _zip(tmp_path / "up.zip", [
        ("__MACOSX/han/._a.png", b"resource fork"), ("han/._a.png", b"fork"), ("han/.DS_Store", b"x"),
        ("han/inner.zip", b"PK.."), ("han/notes.txt", b"hello"), (".git/config", b"x"), ("han/a.png", _png(1)),
    ])
    report = extract_zip(archive, tmp_path / "d")
    reasons = _reasons(report)
    assert reasons["han/inner.zip"] == NESTED_ZIP
    assert "metadata" in reasons["__MACOSX/han/._a.png"] and "metadata" in reasons["han/._a.png"]
    assert "metadata" in reasons["han/.DS_Store"] and "hidden" in reasons[".git/config"]
    assert "not an image" in reasons["han/notes.txt"]
    assert _files_under(tmp_path / "d") == ["han/a.png"]


def test_encrypted_members_are_skipped(tmp_path):
    archive = _zip(tmp_path / "up.zip", [("han/secret.png", b"x"), ("han/a.png", _png(1))], zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    # zipfile cannot write encrypted members: set the "encrypted" flag of the first member by hand.
    data[6] |= 0x1  # local header
    data[data.index(b"PK\x01\x02") + 8] |= 0x1  # central directory
    archive.write_bytes(bytes(data))
    report = extract_zip(archive, tmp_path / "d")
    assert "encrypted" in _reasons(report)["han/secret.png"]


def test_a_corrupt_member_is_skipped_and_the_rest_extracted(tmp_path):
    archive = _zip(tmp_path / "up.zip", [("han/bad.png", _png(1)), ("han/good.png", _png(2))], zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    start = data.index(_png(1))
    data[start + 20] ^= 0xFF  # the stored bytes no longer match their CRC
    archive.write_bytes(bytes(data))
    report = extract_zip(archive, tmp_path / "d")
    assert "corrupt member" in _reasons(report)["han/bad.png"]
    assert _files_under(tmp_path / "d") == ["han/good.png"]


@pytest.mark.parametrize(
    "limits, members, message",
    [
        (UploadLimits(max_files=2), [(f"{i}.png", _png(i)) for i in range(3)], "max_files"),
        (UploadLimits(max_total_bytes=100), [("a.png", b"x" * 60), ("b.png", b"y" * 60)], "max_total_bytes"),
        (UploadLimits(), [("small.png", _png(0)), ("white.bmp", b"\xff" * (2 << 20))], "max_ratio"),
    ],
)
def test_over_limit_archives_stop_with_a_clear_error_and_write_nothing(tmp_path, limits, members, message):
    archive = _zip(tmp_path / "big.zip", members)
    with pytest.raises(ValueError, match=message) as caught:
        extract_zip(archive, tmp_path / "d", limits)
    assert str(archive) in str(caught.value) and "raise UploadLimits" in str(caught.value)
    assert _files_under(tmp_path / "d") == []


@pytest.mark.parametrize("content, message", [
    (b"this is not a zip file at all", "not a readable zip"),
    (b"", "not a readable zip"),
])
def test_corrupt_archives_are_refused_naming_the_zip(tmp_path, content, message):
    path = tmp_path / "upload.zip"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        extract_zip(path, tmp_path / "d")
    assert str(path) in str(caught.value)


def test_empty_and_image_less_archives_are_refused(tmp_path):
    empty = _zip(tmp_path / "empty.zip", [])
    with pytest.raises(ValueError, match="empty.zip is empty"):
        extract_zip(empty, tmp_path / "d")
    junk = _zip(tmp_path / "junk.zip", [("notes.txt", b"x"), ("__MACOSX/._a.png", b"x")])
    with pytest.raises(ValueError, match="junk.zip holds no image files.*notes.txt"):
        extract_zip(junk, tmp_path / "d")


def test_a_file_object_upload_is_accepted(tmp_path):
    buffer = io.BytesIO(_zip(tmp_path / "up.zip", [("kom/a.png", _png(1))]).read_bytes())
    buffer.name = "from-browser.zip"
    report = extract_zip(buffer, tmp_path / "d")
    assert [p.name for p in report.files] == ["a.png"]
    with pytest.raises(ValueError, match="from-browser.zip"):
        bad = io.BytesIO(b"garbage")
        bad.name = "from-browser.zip"
        extract_zip(bad, tmp_path / "d")


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_files"):
        UploadLimits(max_files=0)
    with pytest.raises(ValueError, match="max_ratio"):
        UploadLimits(max_ratio=0.5)


def test_the_same_upload_is_stored_once_whatever_its_name(tmp_path):
    root = tmp_path / "uploads"
    first = store_upload("a.png", _png(1), root)
    assert first.read_bytes() == _png(1) and first.name == "a.png"
    written = first.stat().st_mtime_ns
    # A second click on Classify, and the same picture under another name: the file already kept.
    assert store_upload("a.png", _png(1), root) == first == store_upload("copy of a.png", _png(1), root)
    assert first.stat().st_mtime_ns == written
    other = store_upload("b.png", _png(2), root)
    assert other != first and other.read_bytes() == _png(2)
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["a.png", "b.png"]


@pytest.mark.parametrize("name, kept_as", [("../../evil.png", "evil.png"), ("C:\\pics\\x.png", "x.png"),
                                           ("..", "upload"), (".hidden.png", "upload")])
def test_an_uploads_name_cannot_leave_its_folder(tmp_path, name, kept_as):
    stored = store_upload(name, _png(3), tmp_path / "uploads")
    assert stored.name == kept_as and stored.parent.parent == tmp_path / "uploads"


def test_a_stored_zip_is_unpacked_once_and_its_report_kept(tmp_path):
    data = _zip(tmp_path / "art.zip", [("han/a.png", _png(1)), ("notes.txt", b"x")]).read_bytes()
    stored = store_upload("art.zip", data, tmp_path / "uploads")
    report = unpack_upload(stored)
    assert [p.read_bytes() for p in report.files] == [_png(1)]
    assert list(_reasons(report)) == ["notes.txt"] and _reasons(report)["notes.txt"].startswith("not an image file")
    again = unpack_upload(store_upload("art.zip", data, tmp_path / "uploads"))
    assert again.files == report.files and again.skipped == report.skipped
    assert _files_under(stored.with_suffix("")) == ["han/a.png"]
