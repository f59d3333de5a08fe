"""Sessions: create, list, read, update, close, delete. Chat requests continue one by
carrying ``session_id``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from plugai.api.deps import CurrentUser, SessionsDep
from plugai.db.tables import ChatSession, SessionMessage
from plugai.protocol.me import Deleted
from plugai.protocol.sessions import (
    MessageList,
    SessionCreate,
    SessionList,
    SessionMessageOut,
    SessionOut,
    SessionUpdate,
    SessionWithMessages,
)

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def session_out(row: ChatSession) -> SessionOut:
    return SessionOut(
        id=row.id,
        title=row.title,
        model=row.model,
        system_prompt=row.system_prompt,
        params=row.params or {},
        metadata=row.meta or {},
        message_count=row.message_count,
        closed=row.closed_at is not None,
        closed_at=row.closed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def message_out(row: SessionMessage) -> SessionMessageOut:
    return SessionMessageOut(
        seq=row.seq,
        role=row.role,
        content=row.content,
        name=row.name,
        tool_calls=row.tool_calls,
        tool_call_id=row.tool_call_id,
        model=row.model,
        params=row.params,
        usage=row.usage,
        finish_reason=row.finish_reason,
        interrupted=row.interrupted,
        created_at=row.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Start a session")
async def create_session(body: SessionCreate, me: CurrentUser, store: SessionsDep) -> SessionOut:
    row = await store.create(
        me.user_id,
        title=body.title,
        model=body.model,
        system_prompt=body.system_prompt,
        params=body.params,
        meta=body.metadata,
    )
    return session_out(row)


@router.get("", summary="Your sessions, most recently active first")
async def list_sessions(
    me: CurrentUser,
    store: SessionsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=200, description="next_cursor")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search in titles")] = None,
) -> SessionList:
    page = await store.page(me.user_id, limit=limit, after=after, query=q)
    return SessionList(
        data=[session_out(r) for r in page.sessions],
        has_more=page.next_cursor is not None,
        next_cursor=page.next_cursor,
    )


@router.get("/{session_id}", summary="A session with its messages (paginated)")
async def get_session(
    session_id: str,
    me: CurrentUser,
    store: SessionsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[int, Query(ge=0, description="Messages after this seq")] = 0,
) -> SessionWithMessages:
    row = await store.get(me.user_id, session_id)
    page = await store.messages(row.id, after=after, limit=limit)
    return SessionWithMessages(
        **session_out(row).model_dump(),
        messages=MessageList(data=[message_out(m) for m in page.messages], has_more=page.has_more),
    )


@router.patch("/{session_id}", summary="Rename, switch model, change parameters")
async def update_session(
    session_id: str, body: SessionUpdate, me: CurrentUser, store: SessionsDep
) -> SessionOut:
    fields = body.model_dump(exclude_unset=True)
    if "metadata" in fields:
        fields["meta"] = fields.pop("metadata")
    return session_out(await store.update(me.user_id, session_id, **fields))


@router.post("/{session_id}/close", summary="Close a session (read-only afterwards)")
async def close_session(session_id: str, me: CurrentUser, store: SessionsDep) -> SessionOut:
    return session_out(await store.close(me.user_id, session_id))


@router.delete("/{session_id}", summary="Delete a session and its messages")
async def delete_session(session_id: str, me: CurrentUser, store: SessionsDep) -> Deleted:
    await store.delete(me.user_id, session_id)
    return Deleted(id=session_id, object="session.deleted")
