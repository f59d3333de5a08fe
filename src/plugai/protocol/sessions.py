"""PlugAI's session API: stored conversations that any model can continue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionCreate(_Strict):
    title: str = Field("", max_length=500)
    model: str | None = Field(None, description="Default model for the next turns.")
    system_prompt: str | None = Field(None, max_length=100_000)
    params: dict[str, Any] = Field(default_factory=dict, description="Default parameters.")
    metadata: dict[str, Any] = Field(default_factory=dict)


class SessionUpdate(_Strict):
    title: str | None = Field(None, max_length=500)
    model: str | None = None
    system_prompt: str | None = Field(None, max_length=100_000)
    params: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class SessionMessageOut(BaseModel):
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


class MessageList(BaseModel):
    object: Literal["list"] = "list"
    data: list[SessionMessageOut]
    has_more: bool


class SessionOut(BaseModel):
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


class SessionWithMessages(SessionOut):
    messages: MessageList


class SessionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[SessionOut]
    has_more: bool
    next_cursor: str | None = Field(None, description="Pass as `after` for the next page.")
