"""Continuing a session: stored history + new messages go to the model, and the turn is
appended atomically when the reply completes (a reply cut short is kept, marked
interrupted). The oldest turns are left out when the history outgrows the model's context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
import structlog

from plugai.core.chat import ChatChunk, ChatCompletion, ChoiceAccumulator
from plugai.core.errors import Conflict, PlugAIError
from plugai.db.tables import ChatSession
from plugai.routing.catalog import ModelCatalog
from plugai.routing.gateway import CallContext, Gateway, show_usage_as_asked
from plugai.sessions.store import SessionStore, as_chat_message, closed_message

log = structlog.get_logger("plugai.sessions")
DEFAULT_REPLY_BUDGET = 1024


@dataclass(slots=True)
class Turn:
    session: ChatSession
    user_id: str
    model: str
    messages: list[dict[str, Any]]  # everything sent to the model
    new: list[dict[str, Any]]  # what the caller added this turn
    params: dict[str, Any]
    left_out: int

    def info(self) -> dict[str, Any]:
        return {"id": self.session.id, "messages_left_out": self.left_out}


def estimate_tokens(message: dict[str, Any]) -> int:
    """A tokenizer-free estimate (≈4 bytes per token) — good enough to keep under a limit."""
    return 4 + len(orjson.dumps(message)) // 4


def fit_to_context(
    system: list[dict[str, Any]],
    history: list[dict[str, Any]],
    new: list[dict[str, Any]],
    budget: int | None,
) -> tuple[list[dict[str, Any]], int]:
    """Drop the oldest history messages until everything fits; the system prompt and the
    new messages always stay. Returns the history kept and how many were left out."""
    if budget is None:
        return history, 0
    fixed = sum(map(estimate_tokens, system)) + sum(map(estimate_tokens, new))
    sizes = [estimate_tokens(m) for m in history]
    total = fixed + sum(sizes)
    start = 0
    while total > budget and start < len(history):
        total -= sizes[start]
        start += 1
    while start < len(history) and history[start]["role"] in ("tool", "assistant"):
        total -= sizes[start]  # never begin with a reply or a tool result
        start += 1
    return history[start:], start


class SessionChat:
    def __init__(self, store: SessionStore, gateway: Gateway, catalog: ModelCatalog) -> None:
        self.store = store
        self.gateway = gateway
        self.catalog = catalog

    async def _context_length(self, model_id: str) -> int | None:
        try:
            return (await self.catalog.get(model_id)).context_length
        except PlugAIError:
            return None

    async def prepare(
        self,
        user_id: str,
        session_id: str,
        model: str,
        new: list[dict[str, Any]],
        params: dict[str, Any],
    ) -> Turn:
        session = await self.store.get(user_id, session_id)
        if session.closed_at is not None:
            raise Conflict(closed_message(session_id), param="session_id")
        stored = await self.store.messages(session.id)
        history = [as_chat_message(m) for m in stored.messages]
        system = (
            [{"role": "system", "content": session.system_prompt}] if session.system_prompt else []
        )
        merged = {**(session.params or {}), **params}
        context = await self._context_length(model)
        reply = (
            merged.get("max_completion_tokens") or merged.get("max_tokens") or DEFAULT_REPLY_BUDGET
        )
        budget = context - int(reply) if context else None
        kept, left_out = fit_to_context(system, history, new, budget)
        return Turn(session, user_id, model, [*system, *kept, *new], new, merged, left_out)

    async def _save(self, turn: Turn, reply: dict[str, Any]) -> None:
        first = {**turn.new[0], "model": turn.model, "params": turn.params} if turn.new else None
        rows = ([first] if first else []) + turn.new[1:] + [{**reply, "model": turn.model}]
        await self.store.append(turn.user_id, turn.session.id, rows, model=turn.model)

    async def chat(self, turn: Turn, ctx: CallContext) -> ChatCompletion:
        result = await self.gateway.chat(turn.model, turn.messages, turn.params, ctx)
        choice = result["choices"][0] if result["choices"] else None
        reply: dict[str, Any] = dict(choice["message"]) if choice else {"role": "assistant"}
        reply.update(
            usage=result.get("usage"), finish_reason=choice["finish_reason"] if choice else None
        )
        await self._save(turn, reply)
        out: dict[str, Any] = dict(result)
        out["session"] = turn.info()
        return out  # type: ignore[return-value]

    async def stream_chat(
        self, turn: Turn, ctx: CallContext, *, include_usage: bool
    ) -> AsyncIterator[ChatChunk]:
        acc = ChoiceAccumulator(0)
        usage: Any = None
        finished = False
        first = True
        try:
            async for chunk in self.gateway.stream_chat(
                turn.model, turn.messages, turn.params, ctx, include_usage=True
            ):
                for choice in chunk["choices"]:
                    if choice["index"] == 0:
                        acc.add(choice)
                if chunk.get("usage"):
                    usage = chunk["usage"]
                if not show_usage_as_asked(chunk, include_usage):
                    continue
                if first:
                    first = False
                    chunk = {**chunk, "session": turn.info()}  # type: ignore[typeddict-unknown-key]
                yield chunk
            finished = True
        finally:
            reply: dict[str, Any] = dict(acc.message())
            reply.update(usage=usage, finish_reason=acc.finish_reason, interrupted=not finished)
            with anyio.CancelScope(shield=True):
                try:
                    await self._save(turn, reply)
                except PlugAIError as exc:  # e.g. closed meanwhile: the reply was still sent
                    log.warning("session_append_failed", session=turn.session.id, error=exc.message)
