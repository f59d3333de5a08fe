"""Downloading one file: resume from the ``.part`` file with an HTTP Range request, detect
stalls, hash as bytes arrive, and verify size and sha256 before the caller moves it.

Why by hand rather than a library: a multi-GB download must survive a killed process and a
flaky network, report exact progress, and never leave a corrupt file where a model is
expected. The ``.part`` file is the only state: its length is where the next try resumes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

CHUNK = 1024 * 1024
PERMANENT_STATUSES = {400, 401, 403, 404, 410, 451}


class FetchError(Exception):
    """A try failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Corrupted(FetchError):
    """The bytes are wrong (size or sha256): the partial file is deleted, never used."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True, slots=True)
class RemoteFile:
    path: str  # where it goes, relative to the model's folder
    url: str
    size: int | None = None
    sha256: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RemoteFile:
        return cls(
            path=str(data["path"]),
            url=str(data["url"]),
            size=data.get("size"),
            sha256=data.get("sha256"),
        )

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "url": self.url, "size": self.size, "sha256": self.sha256}


def _hash_existing(part: Path) -> Any:
    digest = hashlib.sha256()
    with part.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest


def file_size(path: Path) -> int:
    """Bytes on disk (0 when absent): where the next try resumes."""
    return path.stat().st_size if path.exists() else 0


def sha256_of(path: Path) -> str:
    return str(_hash_existing(path).hexdigest())


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


async def fetch(
    session: aiohttp.ClientSession,
    remote: RemoteFile,
    part: Path,
    *,
    stall_timeout: float,
    on_bytes: Callable[[int], None],
    on_received: Callable[[int], None] = lambda _n: None,
) -> str:
    """Bring ``part`` to the complete, verified file (resuming what is there); its sha256.

    ``on_bytes`` is told about bytes already on disk first, then about each new chunk.
    Raises :class:`FetchError` (retryable or not) or :class:`Corrupted`.
    """
    await asyncio.to_thread(part.parent.mkdir, parents=True, exist_ok=True)
    offset = file_size(part)
    if remote.size is not None and offset > remote.size:
        await asyncio.to_thread(_remove, part)
        offset = 0
    digest = await asyncio.to_thread(_hash_existing, part) if offset else hashlib.sha256()
    on_bytes(offset)
    if remote.size is None or offset < remote.size:
        offset, digest = await _get(
            session, remote, part, offset, digest, stall_timeout, _both(on_bytes, on_received)
        )
    if remote.size is not None and offset != remote.size:
        raise FetchError(
            f"{remote.path}: got {offset} of {remote.size} bytes; resuming", retryable=True
        )
    if remote.sha256 and digest.hexdigest() != remote.sha256.lower():
        await asyncio.to_thread(_remove, part)
        raise Corrupted(
            f"{remote.path}: sha256 mismatch (expected {remote.sha256.lower()}, "
            f"got {digest.hexdigest()}); the file was discarded"
        )
    return str(digest.hexdigest())


async def _get(
    session: aiohttp.ClientSession,
    remote: RemoteFile,
    part: Path,
    offset: int,
    digest: Any,
    stall_timeout: float,
    on_bytes: Callable[[int], None],
) -> tuple[int, Any]:
    headers = dict(remote.headers)
    if offset:
        headers["Range"] = f"bytes={offset}-"
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=stall_timeout, sock_read=stall_timeout)
    try:
        async with session.get(remote.url, headers=headers, timeout=timeout) as response:
            if response.status == 416 and offset and remote.size is None:
                return offset, digest  # already complete, size unknown
            if response.status in PERMANENT_STATUSES:
                raise FetchError(
                    f"{remote.path}: the source answered HTTP {response.status}", retryable=False
                )
            if response.status not in (200, 206):
                raise FetchError(
                    f"{remote.path}: the source answered HTTP {response.status}", retryable=True
                )
            if response.status == 200 and offset:  # no range support: start again
                offset, digest = 0, hashlib.sha256()
                on_bytes(-file_size(part))
            elif response.status == 206 and not _starts_at(response, offset):
                raise FetchError(f"{remote.path}: the range answer does not match", retryable=True)
            mode = "ab" if offset else "wb"
            f: IO[bytes] = await asyncio.to_thread(open, part, mode)
            pending = bytearray()  # written in big blocks; flushed even when the peer drops
            try:
                async for chunk in response.content.iter_any():
                    pending += chunk
                    digest.update(chunk)
                    offset += len(chunk)
                    if remote.size is not None and offset > remote.size:
                        raise Corrupted(
                            f"{remote.path}: more bytes than the {remote.size} announced"
                        )
                    if len(pending) >= CHUNK:
                        await _write(f, pending, on_bytes)
            finally:
                try:
                    if pending:
                        await _write(f, pending, on_bytes)
                finally:
                    await asyncio.to_thread(_close, f)
    except Corrupted:
        await asyncio.to_thread(_remove, part)
        raise
    except TimeoutError as exc:
        raise FetchError(
            f"{remote.path}: stalled, no bytes for {stall_timeout:g}s", retryable=True
        ) from exc
    except aiohttp.ClientError as exc:
        raise FetchError(f"{remote.path}: {type(exc).__name__}: {exc}", retryable=True) from exc
    return offset, digest


async def _write(f: IO[bytes], pending: bytearray, on_bytes: Callable[[int], None]) -> None:
    block = bytes(pending)
    pending.clear()
    await asyncio.to_thread(f.write, block)
    on_bytes(len(block))  # may raise (e.g. out of room): the bytes are on disk either way


def _both(first: Callable[[int], None], second: Callable[[int], None]) -> Callable[[int], None]:
    def call(n: int) -> None:
        first(n)
        if n > 0:
            second(n)

    return call


def _close(f: IO[bytes]) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()


def _starts_at(response: aiohttp.ClientResponse, offset: int) -> bool:
    value = response.headers.get("Content-Range", "")  # bytes START-END/TOTAL
    try:
        return int(value.split()[1].split("-")[0]) == offset
    except (IndexError, ValueError):
        return False
