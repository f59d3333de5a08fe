"""Stored conversations (``/v1/sessions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from plugai_client.types._base import Model


class SessionMessage(Model):
    object: Literal["session.message"] = "session.message"
    seq: int
    role: str
    content: Any = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    model: str | None = None
    params: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    interrupted: bool = False
    created_at: datetime


class SessionMessages(Model):
    object: Literal["list"] = "list"
    data: list[SessionMessage]
    has_more: bool


class SessionInfo(Model):
    object: Literal["session"] = "session"
    id: str
    title: str
    model: str | None
    system_prompt: str | None
    params: dict[str, Any]
    metadata: dict[str, Any]
    message_count: int
    closed: bool
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SessionDetail(SessionInfo):
    """A session with one page of its messages."""

    messages: SessionMessages


class SessionPage(Model):
    object: Literal["list"] = "list"
    data: list[SessionInfo]
    has_more: bool
    next_cursor: str | None = Field(None, description="Pass as `after` for the next page.")
