"""The artifact files on disk: their extension, digest, and how they get into place.

Everything here blocks (hashing, copying); the store runs it in a worker thread.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "model/gltf-binary": "glb",
    "model/gltf+json": "gltf",
    "model/obj": "obj",
    "application/ply": "ply",
    "model/ply": "ply",
}
_SUFFIX = re.compile(r"^[a-z0-9]{1,8}$")
_BLOCK = 1024 * 1024


def extension(mime: str, suffix: str = "") -> str:
    """The file extension for a media type (else the source's own suffix, else ``bin``)."""
    known = EXTENSIONS.get(mime.split(";")[0].strip().lower())
    if known:
        return known
    own = suffix.lower().lstrip(".")
    return own if _SUFFIX.match(own) else "bin"


def digest(path: Path) -> tuple[str, int]:
    """The sha256 (hex) and size of a file."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


def digest_bytes(data: bytes) -> tuple[str, int]:
    return hashlib.sha256(data).hexdigest(), len(data)


def move_into(source: Path, dest: Path) -> None:
    """Move ``source`` to ``dest`` so that ``dest`` appears whole or not at all.

    A rename when both are on one file system (the staging folder is under the root);
    otherwise a copy beside ``dest`` renamed over it, then the source is removed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, dest)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    temp = _temp_beside(dest)
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
    source.unlink(missing_ok=True)


def write_new(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(dest)
    try:
        temp.write_bytes(data)
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _temp_beside(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")


def old_entries(folder: Path, older_than: float, now: float) -> list[Path]:
    """Entries of ``folder`` last modified more than ``older_than`` seconds before ``now``."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        try:
            if now - entry.stat().st_mtime > older_than:
                found.append(entry)
        except FileNotFoundError:
            continue
    return found


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
