"""Sessions and their messages in the database. Every read and write is scoped to the
owner: another user's session is indistinguishable from one that does not exist."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, update

from plugai.core.errors import Conflict, InvalidRequest, NotFound
from plugai.db.database import Database
from plugai.db.tables import ChatSession, SessionMessage, utcnow
from plugai.security.tokens import new_id

_FIELDS = ("title", "model", "system_prompt", "params", "meta")


@dataclass(frozen=True, slots=True)
class Page:
    sessions: list[ChatSession]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[SessionMessage]
    has_more: bool


def _encode_cursor(row: ChatSession) -> str:
    raw = f"{row.updated_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, session_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), session_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequest("Invalid pagination cursor.", param="after") from exc


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _owned(self, user_id: str, session_id: str) -> Select[ChatSession]:
        return select(ChatSession).where(
            ChatSession.id == session_id, ChatSession.user_id == user_id
        )

    async def create(self, user_id: str, **fields: Any) -> ChatSession:
        now = utcnow()
        row = ChatSession(
            id=new_id("sess"),
            user_id=user_id,
            title=fields.get("title") or "",
            model=fields.get("model"),
            system_prompt=fields.get("system_prompt"),
            params=fields.get("params") or {},
            meta=fields.get("meta") or {},
            message_count=0,
            created_at=now,
            updated_at=now,
        )
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
        return row

    async def get(self, user_id: str, session_id: str) -> ChatSession:
        async with self.db.session() as s:
            row = await s.scalar(self._owned(user_id, session_id))
        if row is None:
            raise NotFound(f"No session with id {session_id!r}.", param="session_id")
        return row

    async def page(
        self, user_id: str, *, limit: int = 20, after: str | None = None, query: str | None = None
    ) -> Page:
        stmt = select(ChatSession).where(ChatSession.user_id == user_id)
        if query:
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(ChatSession.title.ilike(f"%{escaped}%", escape="\\"))
        if after:
            stamp, last_id = _decode_cursor(after)
            stmt = stmt.where(
                or_(
                    ChatSession.updated_at < stamp,
                    and_(ChatSession.updated_at == stamp, ChatSession.id < last_id),
                )
            )
        stmt = stmt.order_by(ChatSession.updated_at.desc(), ChatSession.id.desc()).limit(limit + 1)
        async with self.db.session() as s:
            rows = list((await s.scalars(stmt)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, _encode_cursor(rows[-1]) if more and rows else None)

    async def messages(
        self, session_id: str, *, after: int = 0, limit: int | None = None
    ) -> MessagePage:
        """Messages in order (``seq`` > ``after``); the caller has checked ownership."""
        stmt = (
            select(SessionMessage)
            .where(SessionMessage.session_id == session_id, SessionMessage.seq > after)
            .order_by(SessionMessage.seq)
        )
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        async with self.db.session() as s:
            rows = list((await s.scalars(stmt)).all())
        more = limit is not None and len(rows) > limit
        return MessagePage(rows[:limit] if limit is not None else rows, more)

    async def update(self, user_id: str, session_id: str, **fields: Any) -> ChatSession:
        values = {k: v for k, v in fields.items() if k in _FIELDS}
        async with self.db.session() as s:
            row = await s.scalar(self._owned(user_id, session_id))
            if row is None:
                raise NotFound(f"No session with id {session_id!r}.", param="session_id")
            for key, value in values.items():
                setattr(row, key, value)
            await s.commit()
        return row

    async def close(self, user_id: str, session_id: str) -> ChatSession:
        async with self.db.session() as s:
            row = await s.scalar(self._owned(user_id, session_id))
            if row is None:
                raise NotFound(f"No session with id {session_id!r}.", param="session_id")
            if row.closed_at is None:
                row.closed_at = utcnow()
                await s.commit()
        return row

    async def delete(self, user_id: str, session_id: str) -> None:
        async with self.db.session() as s:
            result = await s.execute(
                delete(ChatSession).where(
                    ChatSession.id == session_id, ChatSession.user_id == user_id
                )
            )
            await s.commit()
        if not getattr(result, "rowcount", 0):
            raise NotFound(f"No session with id {session_id!r}.", param="session_id")

    async def append(
        self, user_id: str, session_id: str, messages: list[dict[str, Any]], *, model: str
    ) -> None:
        """Append a turn (the new messages and the reply) in one transaction.

        The counter update comes first and returns the new count: it takes the write lock
        at once (a row lock on PostgreSQL, the database lock on SQLite), so concurrent
        turns on one session get distinct, gap-free sequence numbers.
        """
        now = utcnow()
        async with self.db.session() as s, s.begin():
            count = await s.scalar(
                update(ChatSession)
                .where(
                    ChatSession.id == session_id,
                    ChatSession.user_id == user_id,
                    ChatSession.closed_at.is_(None),
                )
                .values(
                    updated_at=now,
                    model=model,
                    message_count=ChatSession.message_count + len(messages),
                )
                .returning(ChatSession.message_count)
            )
            if count is None:
                row = await s.scalar(self._owned(user_id, session_id))
                if row is None:
                    raise NotFound(f"No session with id {session_id!r}.", param="session_id")
                raise Conflict(closed_message(session_id), param="session_id")
            first = int(count) - len(messages) + 1
            s.add_all(_message_row(session_id, first + i, m, now) for i, m in enumerate(messages))


def closed_message(session_id: str) -> str:
    return f"Session {session_id} is closed: it is read-only. Start a new session to go on."


def _message_row(session_id: str, seq: int, m: dict[str, Any], now: datetime) -> SessionMessage:
    return SessionMessage(
        session_id=session_id,
        seq=seq,
        role=m["role"],
        content=m.get("content"),
        name=m.get("name"),
        tool_calls=m.get("tool_calls"),
        tool_call_id=m.get("tool_call_id"),
        model=m.get("model"),
        params=m.get("params"),
        usage=m.get("usage"),
        finish_reason=m.get("finish_reason"),
        interrupted=bool(m.get("interrupted")),
        created_at=now,
    )


def as_chat_message(row: SessionMessage) -> dict[str, Any]:
    """A stored message as it goes back to a model (OpenAI-shaped)."""
    message: dict[str, Any] = {"role": row.role, "content": row.content}
    if row.name:
        message["name"] = row.name
    if row.tool_calls:
        message["tool_calls"] = row.tool_calls
    if row.tool_call_id:
        message["tool_call_id"] = row.tool_call_id
    return message
