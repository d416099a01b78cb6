"""The files of a OneRoster 1.1 export: users.csv, and when there are, orgs.csv (schools to campuses) and
enrollments.csv (more schools a person belongs to); from a directory, a zip, or an upload."""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.services.errors import Invalid

ZIP_MAGIC = b"PK\x03\x04"
MEMBERS = ("users.csv", "orgs.csv", "enrollments.csv")


@dataclass
class RosterFiles:
    """A OneRoster users.csv and, when there are, its orgs.csv and enrollments.csv: bytes, or seekable binary
    streams (uploads spooled to disk, members of a zip) that are read as they go."""

    users: bytes | IO[bytes]
    orgs: bytes | IO[bytes] | None = None
    name: str = "users.csv"
    enrollments: bytes | IO[bytes] | None = None


def stream(data: bytes | IO[bytes]) -> IO[bytes]:
    """The file from its start, as a stream."""
    if isinstance(data, bytes):
        return io.BytesIO(data)
    data.seek(0)
    return data


def _is_zip(data: bytes | IO[bytes]) -> bool:
    source = stream(data)
    head = source.read(len(ZIP_MAGIC))
    source.seek(0)
    return head == ZIP_MAGIC


def _from_zip(data: bytes | IO[bytes], name: str) -> RosterFiles:
    try:
        archive = zipfile.ZipFile(stream(data))
    except zipfile.BadZipFile as exc:
        raise Invalid(f"{name} is not a readable zip file.", field="users") from exc
    members = {Path(m).name.lower(): m for m in archive.namelist() if not m.endswith("/")}
    if "users.csv" not in members:
        raise Invalid(f"{name} holds no users.csv.", field="users")

    def member(file: str) -> IO[bytes] | None:
        return archive.open(members[file]) if file in members else None

    return RosterFiles(
        users=archive.open(members["users.csv"]),
        orgs=member("orgs.csv"),
        name=f"{name}/users.csv",
        enrollments=member("enrollments.csv"),
    )


def pack(files: RosterFiles) -> bytes:
    """The files as one zip, to park between the dry run and the import; copied in chunks, so only the
    compressed copy is held whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for member, data in zip(MEMBERS, (files.users, files.orgs, files.enrollments), strict=True):
            if data is not None:
                with bundle.open(member, "w", force_zip64=True) as out:
                    shutil.copyfileobj(stream(data), out, 1 << 20)
    return buffer.getvalue()


def _beside(path: Path, name: str) -> bytes | None:
    other = path.parent / name
    return other.read_bytes() if other.is_file() and other != path else None


def files_from_path(path: str | Path) -> RosterFiles:
    """A directory holding users.csv (and orgs.csv, enrollments.csv), a OneRoster zip, or a users.csv with the
    others beside it."""
    path = Path(path)
    if path.is_dir():
        users = path / "users.csv"
        if not users.is_file():
            raise Invalid(f"{path} holds no users.csv.", field="users")
        path = users
    if not path.is_file():
        raise Invalid(f"{path} does not exist.", field="users")
    data = path.read_bytes()
    if data.startswith(ZIP_MAGIC):
        return _from_zip(data, str(path))
    return RosterFiles(data, _beside(path, "orgs.csv"), str(path), _beside(path, "enrollments.csv"))


def files_from_upload(
    users: bytes | IO[bytes],
    orgs: bytes | IO[bytes] | None,
    name: str = "users.csv",
    enrollments: bytes | IO[bytes] | None = None,
) -> RosterFiles:
    """Uploaded files (bytes or seekable streams): a users.csv (with optional orgs.csv and enrollments.csv) or
    one OneRoster zip."""
    if _is_zip(users):
        bundle = _from_zip(users, name)
        bundle.orgs = orgs or bundle.orgs
        bundle.enrollments = enrollments or bundle.enrollments
        return bundle
    return RosterFiles(users, orgs or None, name, enrollments or None)
