"""Loopback servers for download tests, each on its own thread and event loop (so that a
test blocking on a subprocess never starves them):

- ``FileServer``: plain range-capable file server that can throttle, stall, drop the
  connection mid-file and serve corrupted bytes;
- ``FakeHub``: the Hugging Face Hub endpoints ``huggingface_hub`` calls (model info with
  file metadata, ``resolve/<rev>/<file>`` with ETag, X-Repo-Commit and ranges), with
  gated repositories that need a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CHUNK = 64 * 1024


@dataclass
class Behaviour:
    """How a file is served. ``*_once`` faults happen on the first request only."""

    rate: float | None = None  # bytes per second
    stall_at: int | None = None  # stop sending (hang) at this offset, once
    drop_at: int | None = None  # abort the connection at this offset, once
    corrupt: bool = False  # flip a byte in the middle, every time
    no_range: bool = False  # ignore Range (answer 200 with everything)
    no_length: bool = False  # say no Content-Length (chunked), so the size is unknown
    faults_left: int = 1


@dataclass
class Served:
    data: bytes
    behaviour: Behaviour = field(default_factory=Behaviour)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class _Threaded:
    """An aiohttp app on a thread of its own."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.requests: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self._runner = web.AppRunner(self.app, shutdown_timeout=0.5)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10)

    def stop(self) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:  # stalled handlers
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def range_starts(self, path_suffix: str) -> list[int]:
        return [r["start"] for r in self.requests if r["path"].endswith(path_suffix)]

    async def send(
        self, request: web.Request, served: Served, headers: dict[str, str] | None = None
    ) -> web.StreamResponse:
        data, how = served.data, served.behaviour
        start = 0
        header = request.headers.get("Range", "")
        if header.startswith("bytes=") and not how.no_range:
            start = int(header[6:].split("-")[0] or 0)
        self.requests.append({"path": request.path, "method": request.method, "start": start})
        if start >= len(data) and start:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        status = 206 if start else 200
        out = dict(headers or {})
        if not how.no_length:
            out["Content-Length"] = str(len(data) - start)
        out["Accept-Ranges"] = "bytes"
        if status == 206:
            out["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        response = web.StreamResponse(status=status, headers=out)
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        body = bytearray(data)
        if how.corrupt:
            body[len(body) // 2] ^= 0xFF
        fault_at = how.stall_at if how.stall_at is not None else how.drop_at
        faulty = how.faults_left > 0 and fault_at is not None and start <= fault_at
        stop = fault_at if faulty and fault_at is not None else len(body)
        offset = start
        while offset < stop:
            end = min(offset + CHUNK, stop)
            if how.rate:
                await asyncio.sleep((end - offset) / how.rate)
            await response.write(bytes(body[offset:end]))
            offset = end
        if faulty:
            how.faults_left -= 1
            if how.stall_at is not None:
                await asyncio.sleep(3600)
            await asyncio.sleep(0.2)  # let the client read what was sent, then cut the line
            assert request.transport is not None
            request.transport.abort()
            return response
        await response.write_eof()
        return response


class FileServer(_Threaded):
    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, Served] = {}
        self.app.router.add_route("*", "/files/{name}", self._file)

    def add(self, name: str, data: bytes, **behaviour: Any) -> str:
        self.files[name] = Served(data, Behaviour(**behaviour))
        return f"{self.url}/files/{name}"

    async def _file(self, request: web.Request) -> web.StreamResponse:
        served = self.files.get(request.match_info["name"])
        if served is None:
            return web.Response(status=404)
        return await self.send(request, served)


@dataclass
class Repo:
    files: dict[str, Served]
    commit: str
    gated_token: str | None = None


class FakeHub(_Threaded):
    def __init__(self) -> None:
        super().__init__()
        self.repos: dict[str, Repo] = {}
        self.auth: list[str | None] = []
        r = self.app.router
        r.add_get("/api/models/{org}/{name}", self._info)
        r.add_get("/api/models/{org}/{name}/revision/{rev}", self._info)
        r.add_route("*", "/{org}/{name}/resolve/{rev}/{path:.+}", self._resolve)

    def add_repo(
        self, repo: str, files: dict[str, bytes], *, gated_token: str | None = None, **how: Any
    ) -> Repo:
        commit = hashlib.sha1(repo.encode()).hexdigest()  # noqa: S324 - a fake commit id
        entry = Repo(
            {k: Served(v, Behaviour(**how)) for k, v in files.items()}, commit, gated_token
        )
        self.repos[repo] = entry
        return entry

    def _repo(self, request: web.Request) -> tuple[Repo | None, web.Response | None]:
        name = f"{request.match_info['org']}/{request.match_info['name']}"
        repo = self.repos.get(name)
        if repo is None:
            headers = {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}
            return None, web.json_response({"error": "not found"}, status=404, headers=headers)
        given = request.headers.get("Authorization")
        self.auth.append(given)
        if repo.gated_token and given != f"Bearer {repo.gated_token}":
            headers = {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model is gated"}
            return None, web.json_response({"error": "gated"}, status=401, headers=headers)
        return repo, None

    async def _info(self, request: web.Request) -> web.Response:
        repo, error = self._repo(request)
        if repo is None:
            assert error is not None
            return error
        name = f"{request.match_info['org']}/{request.match_info['name']}"
        siblings = []
        for path, served in repo.files.items():
            entry: dict[str, Any] = {"rfilename": path}
            if request.query.get("blobs"):
                entry["size"] = len(served.data)
                entry["blobId"] = hashlib.sha1(served.data).hexdigest()  # noqa: S324
                if not path.endswith(".json"):
                    entry["lfs"] = {
                        "size": len(served.data),
                        "sha256": served.sha256,
                        "pointerSize": 134,
                    }
            siblings.append(entry)
        return web.json_response(
            {
                "_id": "x",
                "id": name,
                "modelId": name,
                "sha": repo.commit,
                "private": False,
                "gated": bool(repo.gated_token) and "manual",
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
                "lastModified": "2026-01-01T00:00:00.000Z",
                "createdAt": "2026-01-01T00:00:00.000Z",
            }
        )

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        repo, error = self._repo(request)
        if repo is None:
            assert error is not None
            return error
        served = repo.files.get(request.match_info["path"])
        if served is None:
            return web.Response(status=404, headers={"X-Error-Code": "EntryNotFound"})
        headers = {"ETag": f'"{served.sha256}"', "X-Repo-Commit": repo.commit}
        return await self.send(request, served, headers)


@contextmanager
def running(server: _Threaded) -> Iterator[Any]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
