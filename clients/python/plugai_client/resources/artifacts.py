"""``client.artifacts``: your generated files (images, meshes, mesh previews).

for artifact in client.artifacts.iterate(kind="mesh"):
    print(artifact.id, artifact.filename, artifact.bytes, artifact.pinned)
glb = client.artifacts.download("art_…", path="chair.glb")  # or a signed URL
client.artifacts.pin("art_…")  # never expires
client.artifacts.delete("art_…")
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal

from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.artifacts import Artifact, ArtifactDeleted, ArtifactList

ROOT = "/v1/artifacts"
Kind = Literal["image", "mesh", "preview"]
FILE_HEADERS = {"Accept": "*/*"}


def _one(artifact_id: str) -> str:
    return f"{ROOT}/{segment(artifact_id)}"


def _file(id_or_url: str) -> str:
    """A signed URL (absolute) is fetched as it is; an id from the API."""
    return id_or_url if id_or_url.startswith(("http://", "https://")) else _one(id_or_url)


def _save(data: bytes, path: str | os.PathLike[str] | None) -> bytes:
    if path is not None:
        Path(path).write_bytes(data)
    return data


class Artifacts(SyncResource):
    def list(
        self, *, kind: Kind | None = None, limit: int = 20, after: str | None = None
    ) -> ArtifactList:
        """One page of your artifacts, newest first; pass ``last_id`` as ``after`` for
        the next (or use :meth:`iterate`)."""
        params = {"kind": kind, "limit": limit, "after": after}
        return ArtifactList.model_validate(self._t.json("GET", ROOT, params=params))

    def iterate(self, *, kind: Kind | None = None, page_size: int = 100) -> Iterator[Artifact]:
        """Every artifact, newest first, fetching pages as needed."""
        after: str | None = None
        while True:
            page = self.list(kind=kind, limit=page_size, after=after)
            yield from page.data
            if not page.has_more or page.last_id is None:
                return
            after = page.last_id

    def metadata(self, artifact_id: str) -> Artifact:
        """One artifact's description (kind, size, sha256, model, seed, mesh counts, …)."""
        return Artifact.model_validate(self._t.json("GET", f"{_one(artifact_id)}/metadata"))

    def download(self, id_or_url: str, *, path: str | os.PathLike[str] | None = None) -> bytes:
        """The file's bytes (also written to ``path`` when given). ``id_or_url`` is an
        artifact id or a signed ``url`` — which needs no API key, so a client without
        one can fetch it (the key is never sent to another server)."""
        response = self._t.send("GET", _file(id_or_url), headers=FILE_HEADERS)
        return _save(response.content, path)

    def delete(self, artifact_id: str) -> ArtifactDeleted:
        """Delete the artifact and its file."""
        return ArtifactDeleted.model_validate(self._t.json("DELETE", _one(artifact_id)))

    def pin(self, artifact_id: str, pinned: bool = True) -> Artifact:
        """Pin (never expires) or, with ``pinned=False``, unpin an artifact."""
        body = {"pinned": pinned}
        return Artifact.model_validate(self._t.json("PATCH", _one(artifact_id), body=body))


class AsyncArtifacts(AsyncResource):
    async def list(
        self, *, kind: Kind | None = None, limit: int = 20, after: str | None = None
    ) -> ArtifactList:
        params = {"kind": kind, "limit": limit, "after": after}
        return ArtifactList.model_validate(await self._t.json("GET", ROOT, params=params))

    async def iterate(
        self, *, kind: Kind | None = None, page_size: int = 100
    ) -> AsyncIterator[Artifact]:
        """``async for artifact in client.artifacts.iterate()``."""
        after: str | None = None
        while True:
            page = await self.list(kind=kind, limit=page_size, after=after)
            for artifact in page.data:
                yield artifact
            if not page.has_more or page.last_id is None:
                return
            after = page.last_id

    async def metadata(self, artifact_id: str) -> Artifact:
        return Artifact.model_validate(await self._t.json("GET", f"{_one(artifact_id)}/metadata"))

    async def download(
        self, id_or_url: str, *, path: str | os.PathLike[str] | None = None
    ) -> bytes:
        response = await self._t.send("GET", _file(id_or_url), headers=FILE_HEADERS)
        return _save(response.content, path)

    async def delete(self, artifact_id: str) -> ArtifactDeleted:
        return ArtifactDeleted.model_validate(await self._t.json("DELETE", _one(artifact_id)))

    async def pin(self, artifact_id: str, pinned: bool = True) -> Artifact:
        body = {"pinned": pinned}
        return Artifact.model_validate(await self._t.json("PATCH", _one(artifact_id), body=body))
