"""Uploads kept once per content, and safe extraction of an uploaded zip of artworks.

An upload is untrusted: its name and member names may climb out of the destination, its members
may be symlinks, nested archives or decompression bombs. Only image files are written, only inside
`dest`, and limits stop an archive before it fills the disk.

The same files uploaded again (a second click on Classify) are found where they were stored the
first time, by the SHA-256 of their bytes, instead of being written once more.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from artcnn.config import IMAGE_SUFFIXES
from artcnn.images import is_image_path
from artcnn.storage import atomic_write_bytes, atomic_write_json

NESTED_ZIP = "nested zip archives are not opened"
# Members smaller than this are exempt from the ratio check: a bomb needs size to do harm, and
# small flat images (a white BMP icon) legitimately compress extremely well.
RATIO_EXEMPT_BYTES = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class UploadLimits:
    """What one uploaded zip may hold before extraction stops."""

    # Image files extracted from one zip.
    max_files: int = 10_000
    # Total uncompressed bytes of the image files extracted from one zip.
    max_total_bytes: int = 4 * 1024**3
    # Uncompressed / compressed size of any one member of at least 1 MiB (a bomb's signature).
    max_ratio: float = 200.0

    def __post_init__(self) -> None:
        for name in ("max_files", "max_total_bytes", "max_ratio"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Received: {name}={getattr(self, name)}")


@dataclass(frozen=True)
class ExtractReport:
    # Image files written, in archive order.
    files: list[Path] = field(default_factory=list)
    # Members not extracted: [{"file": member name, "reason": str}].
    skipped: list[dict] = field(default_factory=list)


def store_upload(name: str, data: bytes, root: str | os.PathLike) -> Path:
    """The uploaded file `data` kept in root/<SHA-256 of data>/<name>: written the first time those bytes
    come, and found there (under the name they first came with) every later time. Only the name's last
    part is used."""
    folder = Path(root) / hashlib.sha256(data).hexdigest()
    if folder.is_dir():
        stored = sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))
        if stored:
            return stored[0]
    last_part = PurePosixPath(name.replace("\\", "/")).name
    safe = "upload" if last_part in ("", ".", "..") or last_part.startswith(".") else last_part
    folder.mkdir(parents=True, exist_ok=True)
    # Written whole or not at all, so a file found later is always complete.
    return atomic_write_bytes(folder / safe, data)


def unpack_upload(stored_zip: Path, limits: UploadLimits = UploadLimits()) -> ExtractReport:
    """A stored zip (store_upload) extracted once, into the folder beside it named after it; every later
    call returns that extraction's report without writing anything."""
    folder = stored_zip.with_suffix("")
    record = stored_zip.with_name(f".{stored_zip.name}.extracted.json")
    if record.is_file():
        done = json.loads(record.read_text(encoding="utf-8"))
        return ExtractReport(files=[folder / name for name in done["files"]], skipped=done["skipped"])
    # A folder without its record is an extraction that was cut short: it is done again from the start.
    shutil.rmtree(folder, ignore_errors=True)
    report = extract_zip(stored_zip, folder, limits)
    atomic_write_json(record, {"files": [str(path.relative_to(folder.resolve())) for path in report.files],
                               "skipped": report.skipped})
    return report


def extract_zip(
    source: str | os.PathLike | BinaryIO, dest: Path, limits: UploadLimits = UploadLimits()
) -> ExtractReport:
    """Extract the image files of a zip into `dest`, keeping its folders; report what was left out.

    Raises ValueError (naming the zip) for a corrupt or empty archive, one without images, or one
    over `limits`, before anything is written. If writing fails midway (a full disk), the files
    this call wrote are removed again.
    """
    zip_name = str(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "uploaded zip")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        raise ValueError(f"{zip_name} is not a readable zip archive ({error}).") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if not members:
            raise ValueError(f"{zip_name} is empty: it holds no files.")
        wanted, skipped = [], []
        for info in members:
            reason = _refusal(info)
            if reason is None:
                wanted.append(info)
            else:
                skipped.append({"file": info.filename, "reason": reason})
        if not wanted:
            reasons = "; ".join(f"{entry['file']}: {entry['reason']}" for entry in skipped[:5])
            raise ValueError(f"{zip_name} holds no image files ({', '.join(IMAGE_SUFFIXES)}). Skipped: {reasons}")
        _check_limits(wanted, zip_name, limits)
        written: list[Path] = []
        try:
            for info in wanted:
                try:
                    target = _target(root, info.filename)
                except _Unsafe as refusal:
                    skipped.append({"file": info.filename, "reason": str(refusal)})
                    continue
                try:
                    _copy_member(archive, info, target)
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
                    skipped.append({"file": info.filename, "reason": f"corrupt member ({type(error).__name__}: {error})"})
                    continue
                written.append(target)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
    return ExtractReport(files=written, skipped=skipped)


def _refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a member is not extracted, or None for an image file with a safe name."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    basename = parts[-1] if parts else ""
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
        return "unsafe path (absolute, drive letter or '..'); not extracted"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link; not extracted"
    if "__MACOSX" in parts or basename.startswith("._") or basename in _JUNK_NAMES:
        return "operating-system metadata, not an artwork"
    if any(part.startswith(".") for part in parts):
        return "hidden file or folder"
    if basename.lower().endswith(".zip"):
        return NESTED_ZIP
    if not is_image_path(basename):
        return f"not an image file (accepted: {', '.join(IMAGE_SUFFIXES)})"
    if info.flag_bits & 0x1:
        return "encrypted member; not extracted"
    return None


def _check_limits(members: list[zipfile.ZipInfo], zip_name: str, limits: UploadLimits) -> None:
    if len(members) > limits.max_files:
        raise ValueError(
            f"{zip_name} holds {len(members):,} image files, over the limit of {limits.max_files:,}. "
            "Split the upload, or raise UploadLimits.max_files."
        )
    # zipfile never returns more than a member's declared file_size, so the headers bound the total.
    total = sum(info.file_size for info in members)
    if total > limits.max_total_bytes:
        raise ValueError(
            f"{zip_name} would unpack to {total:,} bytes of images, more than {limits.max_total_bytes:,} bytes allowed. "
            "Split the upload, or raise UploadLimits.max_total_bytes."
        )
    for info in members:
        if info.file_size >= RATIO_EXEMPT_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ValueError(
                f"{zip_name}: member {info.filename} would expand {info.file_size / max(info.compress_size, 1):,.0f}× "
                f"(to {info.file_size:,} bytes), over the compression ratio limit of {limits.max_ratio:g} "
                "(a possible zip bomb); raise UploadLimits.max_ratio if the file is genuine."
            )


def _target(root: Path, member_name: str) -> Path:
    """A new path inside `root` for the member, keeping its folders; _Unsafe if it cannot be one."""
    relative = PurePosixPath(member_name.replace("\\", "/"))
    target = root.joinpath(*relative.parts)
    # resolve() follows any symlink already inside dest, so a link cannot carry the file outside;
    # checked before mkdir so that not even a folder is made out there.
    if not target.resolve().is_relative_to(root):
        raise _Unsafe("path leaves the destination folder through a link")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _Unsafe(f"cannot create its folder ({error.strerror or error})") from None
    # Two members with one name (zips allow it) are both kept: the later one gets a number.
    candidate, number = target, 2
    while candidate.exists() or candidate.is_symlink():
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
        number += 1
    return candidate


class _Unsafe(Exception):
    pass


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member to a new file; a failed copy leaves no partial file behind."""
    # "xb" never replaces a file, even one created between choosing the name and this open.
    with archive.open(info) as member, open(target, "xb") as out:
        try:
            shutil.copyfileobj(member, out, 1 << 20)
        except BaseException:
            out.close()
            target.unlink()
            raise
