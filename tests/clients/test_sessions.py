"""Sessions through the client: CRUD, pagination and search, the ``Session`` helper
(send, stream, history, rename, close, context manager) and resuming from a second client
instance — sync and async."""

from __future__ import annotations

import pytest
from plugai_client import AsyncSession, ConflictError, NotFoundError, PlugAI, Session

from tests.clients.conftest import CHAT, Gateway


def test_crud_pagination_and_search(client: PlugAI) -> None:
    created = [client.sessions.create(title=f"topic {i:02d}", metadata={"i": i}) for i in range(7)]
    page = client.sessions.list(limit=3)
    assert [s.id for s in page.data] == [s.id for s in created[::-1][:3]]
    assert page.has_more and page.next_cursor
    second = client.sessions.list(limit=3, after=page.next_cursor)
    assert second.data[0].id == created[3].id
    assert [s.id for s in client.sessions.iterate(page_size=2)] == [s.id for s in created[::-1]]
    found = client.sessions.list(q="ic 0")
    assert len(found.data) == 7
    assert [s.title for s in client.sessions.iterate(q="topic 05")] == ["topic 05"]

    first = created[0].id
    updated = client.sessions.update(first, title="renamed", params={"temperature": 0.5})
    assert updated.title == "renamed"
    assert updated.params == {"temperature": 0.5}
    assert updated.metadata == {"i": 0}
    cleared = client.sessions.update(first, params=None, model=CHAT)
    assert cleared.model == CHAT
    detail = client.sessions.get(first)
    assert detail.messages.data == []
    assert client.sessions.close(first).closed
    deleted = client.sessions.delete(created[1].id)
    assert deleted.deleted and deleted.id == created[1].id
    with pytest.raises(NotFoundError):
        client.sessions.get(created[1].id)


def test_session_helper_send_stream_history_and_resume(client: PlugAI, gateway: Gateway) -> None:
    with client.sessions.create(model=CHAT, title="notes", system_prompt="be brief") as s:
        assert isinstance(s, Session)
        first = s.send("the code is 42")
        assert first.text == "echo: the code is 42"
        streamed = s.send("what code", stream=True).text()
        assert streamed == "echo: what code"
        sent = gateway.fake.last_request
        assert sent is not None
        contents = [m["content"] for m in sent.body["messages"]]
        assert contents == ["be brief", "the code is 42", "echo: the code is 42", "what code"]
        assert s.rename("secret notes").title == "secret notes"
        assert s.refresh().message_count == 4
        session_id = s.id

        with gateway.client() as other:  # another instance, e.g. on another machine
            again = other.sessions.resume(session_id)
            assert again.info.title == "secret notes"
            assert again.send("and now?", temperature=0).text == "echo: and now?"
            history = again.history()
        assert [m.role for m in history] == ["user", "assistant"] * 3
        assert [m.seq for m in history] == sorted(m.seq for m in history)
    assert s.info.closed  # leaving the block closed it
    with pytest.raises(ConflictError):
        s.send("too late")
    assert client.sessions.resume(session_id).info.closed
    s.close()  # twice is harmless

    bare = client.sessions.create()
    with pytest.raises(ValueError, match="no default model"):
        bare.send("hi")
    assert bare.send("hi", model="tiny").text == "echo: hi"
    assert bare.update(model="tiny").model == "tiny"
    with bare:
        bare.delete()  # nothing left to close on exit
    with pytest.raises(NotFoundError):
        client.sessions.resume(bare.id)


async def test_async_sessions(gateway: Gateway) -> None:
    async with gateway.aclient() as client:
        async with await client.sessions.create(model=CHAT, title="async") as s:
            assert isinstance(s, AsyncSession)
            assert (await s.send("one")).text == "echo: one"
            stream = await s.send("two", stream=True)
            assert await stream.text() == "echo: two"
            await s.rename("async renamed")
            async with gateway.aclient() as other:
                again = await other.sessions.resume(s.id)
                assert again.info.title == "async renamed"
                await again.send([{"role": "user", "content": "three"}])
                assert len(await again.history()) == 6
            assert (await s.refresh()).message_count == 6
        assert s.info.closed
        page = await client.sessions.list(limit=1)
        assert page.data[0].id == s.id
        assert [x.id async for x in client.sessions.iterate(q="async")] == [s.id]
        assert (await client.sessions.get(s.id, limit=2)).messages.has_more
        assert (await client.sessions.update(s.id, title="t")).title == "t"
        assert (await client.sessions.close(s.id)).closed
        other_session = await client.sessions.create(title="gone")
        await other_session.delete()
        with pytest.raises(NotFoundError):
            await client.sessions.delete(other_session.id)
        assert (await client.sessions.retrieve(s.id)).id == s.id
