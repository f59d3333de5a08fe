"""The caller's generated files: list, download (content type, ranges, ETag), metadata,
pin, delete. ``GET /v1/artifacts/{id}?expires=…&signature=…`` works without an API key
(the middleware lets exactly that through and the signature is checked here), so the
``url`` of a generated image works in ``<img src>`` and plain downloads.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response
from starlette.types import Message, Receive, Scope, Send

from plugai.api.deps import ArtifactsDep, CurrentUser
from plugai.api.errors import error_body
from plugai.artifacts.store import ArtifactStore
from plugai.core.errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    PlugAIError,
    RangeNotSatisfiable,
)
from plugai.db.tables import ArtifactRow
from plugai.protocol.artifacts import (
    ArtifactDeleted,
    ArtifactKind,
    ArtifactList,
    ArtifactOut,
    ArtifactPatch,
)
from plugai.security.principal import Principal

router = APIRouter(prefix="/v1/artifacts", tags=["artifacts"])
# What a downloaded file may do in a browser that opens it on the API's origin: nothing.
_SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, with its media type (image/png, model/gltf-binary, …).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    206: {"description": "The requested byte range (`Range: bytes=…`)."},
    304: {"description": "Not modified (`If-None-Match` names the current ETag)."},
    403: {"description": "The signature is invalid or has expired."},
    404: {"description": "No such artifact of yours."},
}


class ArtifactFile(FileResponse):
    """Starlette's FileResponse (ranges, If-Range, HEAD), with its range errors — 400 for a
    malformed ``Range``, 416 for one beyond the file — in the OpenAI error envelope."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        replaced = False

        async def enveloped(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] in (400, 416):
                error: PlugAIError = (
                    RangeNotSatisfiable(f"The Range lies beyond the file ({self._size} bytes).")
                    if message["status"] == 416
                    else InvalidRequest("The Range header is malformed.", param="Range")
                )
                body = orjson.dumps(error_body(error))
                keep = [
                    (k, v)
                    for k, v in message["headers"]
                    if k not in (b"content-type", b"content-length")
                ]
                headers = [
                    *keep,
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({**message, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                replaced = True
            elif not replaced:
                await send(message)

        await super().__call__(scope, receive, enveloped)

    @property
    def _size(self) -> int:
        return self.stat_result.st_size if self.stat_result is not None else 0


def signed_url(base_url: str, store: ArtifactStore, artifact_id: str) -> str:
    """An absolute download URL that works without an API key until it expires."""
    return f"{base_url.rstrip('/')}/v1/artifacts/{artifact_id}?{store.sign(artifact_id)}"


def url_maker(request: Request, store: ArtifactStore) -> Callable[[str], str]:
    """``artifact id → signed URL`` on the address the caller used (usable after the
    request has ended, e.g. in a background job)."""
    base = str(request.base_url)
    return lambda artifact_id: signed_url(base, store, artifact_id)


def _unix(when: datetime | None) -> int | None:
    return int(when.timestamp()) if when is not None else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def artifact_out(row: ArtifactRow, url: str) -> ArtifactOut:
    meta = row.meta or {}
    fmt = meta.get("format")
    preview = meta.get("preview_id")
    return ArtifactOut(
        id=row.id,
        kind=row.kind,  # one of KINDS, checked on the way in
        mime_type=row.mime,
        bytes=row.bytes,
        filename=row.filename,
        sha256=row.sha256,
        created_at=int(row.created_at.timestamp()),
        expires_at=_unix(row.expires_at),
        pinned=row.pinned,
        model=row.model,
        job_id=row.job_id,
        width=_int(meta.get("width")),
        height=_int(meta.get("height")),
        seed=_int(meta.get("seed")),
        format=fmt if isinstance(fmt, str) else None,
        vertices=_int(meta.get("vertices")),
        faces=_int(meta.get("faces")),
        preview_id=preview if isinstance(preview, str) else None,
        metadata=meta,
        url=url,
    )


@router.get("", summary="Your artifacts, newest first")
async def list_artifacts(
    request: Request,
    me: CurrentUser,
    store: ArtifactsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=100, description="A `last_id`.")] = None,
    kind: ArtifactKind | None = None,
) -> ArtifactList:
    page = await store.page(me.user_id, limit=limit, after=after, kind=kind)
    url_of = url_maker(request, store)
    data = [artifact_out(row, url_of(row.id)) for row in page.artifacts]
    return ArtifactList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )


@router.get("/{artifact_id}/metadata", summary="One artifact's description")
async def artifact_metadata(
    artifact_id: str, request: Request, me: CurrentUser, store: ArtifactsDep
) -> ArtifactOut:
    row = await store.get(me.user_id, artifact_id)
    return artifact_out(row, url_maker(request, store)(row.id))


def _principal(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise AuthenticationFailed(
            "You didn't provide an API key (or a signed link).", code="missing_api_key"
        )
    return principal


def _etag_matches(header: str | None, sha256: str) -> bool:
    if not header:
        return False
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag in ("*", sha256):
            return True
    return False


async def _download(
    request: Request,
    artifact_id: str,
    store: ArtifactStore,
    expires: str | None,
    signature: str | None,
) -> Response:
    if signature is not None:
        row = await store.get_signed(artifact_id, expires, signature)
        left = max(0, int(expires or 0) - int(store.clock().timestamp()))
        cache = f"private, max-age={left}"
    else:
        row = await store.get(_principal(request).user_id, artifact_id)
        cache = "private, no-cache"
    path = store.file_of(row)
    try:
        stat = await asyncio.to_thread(os.stat, path)
    except FileNotFoundError:
        raise NotFound(f"No artifact {artifact_id!r}.", param="id") from None
    headers = {"ETag": f'"{row.sha256}"', "Cache-Control": cache, **_SAFE}
    if _etag_matches(request.headers.get("if-none-match"), row.sha256):
        return Response(status_code=304, headers=headers)
    return ArtifactFile(
        path,
        media_type=row.mime,
        headers=headers,
        filename=row.filename,
        content_disposition_type="inline",
        stat_result=stat,
    )


SignedQuery = Annotated[str | None, Query(max_length=200, description="Signed links only.")]


@router.get(
    "/{artifact_id}",
    summary="Download an artifact (ranges, ETag; a signed link needs no API key)",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
async def download_artifact(
    artifact_id: str,
    request: Request,
    store: ArtifactsDep,
    expires: SignedQuery = None,
    signature: SignedQuery = None,
) -> Response:
    return await _download(request, artifact_id, store, expires, signature)


@router.head("/{artifact_id}", include_in_schema=False)
async def head_artifact(
    artifact_id: str,
    request: Request,
    store: ArtifactsDep,
    expires: SignedQuery = None,
    signature: SignedQuery = None,
) -> Response:
    return await _download(request, artifact_id, store, expires, signature)


@router.patch("/{artifact_id}", summary="Pin (never expires) or unpin an artifact")
async def patch_artifact(
    artifact_id: str, body: ArtifactPatch, request: Request, me: CurrentUser, store: ArtifactsDep
) -> ArtifactOut:
    row = await store.set_pinned(me.user_id, artifact_id, body.pinned)
    return artifact_out(row, url_maker(request, store)(row.id))


@router.delete("/{artifact_id}", summary="Delete an artifact and its file")
async def delete_artifact(
    artifact_id: str, me: CurrentUser, store: ArtifactsDep
) -> ArtifactDeleted:
    await store.delete(me.user_id, artifact_id)
    return ArtifactDeleted(id=artifact_id)
