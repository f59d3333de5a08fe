"""Usage records are written in batches, off the request path, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from sqlalchemy import event, select

from plugai.db.tables import UsageRecord
from tests.fakes.base import Error
from tests.fakes.openai_fake import FakeOpenAI

MSG = [{"role": "user", "content": "count my words"}]


async def test_usage_is_batched_and_attributed(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Error(status=400, message="nope"))
        async with plugai(
            providers=[{"name": "o", "type": "openai", "base_url": fake.url, "api_key": "k"}]
        ) as h:
            engine = h.app.state.db.engine.sync_engine
            writes: list[str] = []

            def on_execute(*args: Any) -> None:
                if "usage_records" in str(args[2]):
                    writes.append(str(args[2]))

            event.listen(engine, "before_cursor_execute", on_execute)
            with pytest.raises(openai.BadRequestError):
                await h.openai.chat.completions.create(model="o/gpt-4o-mini", messages=MSG)
            for _ in range(3):
                await h.openai.chat.completions.create(model="o/gpt-4o-mini", messages=MSG)
            assert writes == []  # nothing written during the requests
            recorder = h.app.state.gateway.usage
            assert await recorder.flush() == 4
            event.remove(engine, "before_cursor_execute", on_execute)
            assert len(writes) == 1  # one batch
            async with h.app.state.db.session() as s:
                rows = (await s.scalars(select(UsageRecord).order_by(UsageRecord.id))).all()
            me = (await h.http.get("/v1/me")).json()["id"]
    assert [r.status for r in rows] == ["400", "200", "200", "200"]
    assert all(r.user_id == me for r in rows)
    assert rows[1].prompt_tokens == 3
    assert rows[1].completion_tokens == 4
    assert rows[1].provider == "o"
    assert rows[0].provider == "none"
