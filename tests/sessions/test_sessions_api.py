"""Sessions through the API: CRUD, continuing with any model, trimming, closing,
interruption, restarts and isolation between users — with a fake provider over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from plugai.api.app import create_app
from plugai.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.fakes.base import Error, Reply
from tests.fakes.openai_fake import FakeOpenAI
from tests.live import live_server


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def config(fake: FakeOpenAI) -> dict[str, Any]:
    return {
        "providers": [{"name": "openai", "type": "openai", "base_url": fake.url, "api_key": "k"}],
        "models": [
            {"id": "tiny", "provider": "openai", "model": "gpt-4o-mini", "context_length": 150}
        ],
    }


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


async def test_crud_pagination_search_and_activity_order(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(**config(fake)) as h:
        ids = []
        for i in range(25):
            r = await h.http.post(
                "/v1/sessions", json={"title": f"topic {i:02d}", "metadata": {"i": i}}
            )
            assert r.status_code == 201
            ids.append(r.json()["id"])
        seen: list[str] = []
        after = None
        while True:
            params = {"limit": 10} | ({"after": after} if after else {})
            page = (await h.http.get("/v1/sessions", params=params)).json()
            seen += [s["id"] for s in page["data"]]
            if not page["has_more"]:
                break
            after = page["next_cursor"]
        assert seen == ids[::-1]
        await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[user("hi")], extra_body={"session_id": ids[3]}
        )
        top = (await h.http.get("/v1/sessions", params={"limit": 1})).json()["data"][0]
        assert top["id"] == ids[3]
        found = (await h.http.get("/v1/sessions", params={"q": "ic 1"})).json()["data"]
        assert sorted(s["title"] for s in found) == [f"topic {i}" for i in range(10, 20)]
        patched = await h.http.patch(
            f"/v1/sessions/{ids[0]}", json={"title": "renamed", "params": {"temperature": 0.5}}
        )
        assert patched.json()["title"] == "renamed"
        assert patched.json()["metadata"] == {"i": 0}
        bad = await h.http.patch(f"/v1/sessions/{ids[0]}", json={"colour": "red"})
        assert bad.status_code == 400
        assert (await h.http.get("/v1/sessions", params={"after": "!!"})).status_code == 400
        gone = await h.http.delete(f"/v1/sessions/{ids[1]}")
        assert gone.json()["deleted"] is True
        assert (await h.http.get(f"/v1/sessions/{ids[1]}")).status_code == 404


async def test_continue_keeps_history_params_and_switches_models(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(**config(fake)) as h:
        s = (
            await h.http.post(
                "/v1/sessions",
                json={
                    "title": "trip",
                    "system_prompt": "You are terse.",
                    "params": {"temperature": 0.3},
                },
            )
        ).json()
        first = await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[user("plan a trip")],
            extra_body={"session_id": s["id"]},
        )
        sent_first = fake.requests[-1].body
        second = await h.openai.chat.completions.create(
            model="openai/gpt-4o",
            messages=[user("and back")],
            seed=4,
            extra_body={"session_id": s["id"]},
        )
        sent_second = fake.requests[-1].body
        stored = (await h.http.get(f"/v1/sessions/{s['id']}")).json()
    assert sent_first["messages"] == [
        {"role": "system", "content": "You are terse."},
        user("plan a trip"),
    ]
    assert sent_first["temperature"] == 0.3
    assert sent_second["model"] == "gpt-4o"
    assert sent_second["messages"] == [
        {"role": "system", "content": "You are terse."},
        user("plan a trip"),
        {"role": "assistant", "content": "echo: plan a trip"},
        user("and back"),
    ]
    assert first.model_extra is not None
    assert first.model_extra["session"] == {"id": s["id"], "messages_left_out": 0}
    assert second.choices[0].message.content == "echo: and back"
    msgs = stored["messages"]["data"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert [m["model"] for m in msgs] == ["openai/gpt-4o-mini"] * 2 + ["openai/gpt-4o"] * 2
    assert msgs[2]["params"] == {"temperature": 0.3, "seed": 4}
    assert msgs[3]["usage"]["completion_tokens"] == 3
    assert msgs[3]["finish_reason"] == "stop"
    assert stored["model"] == "openai/gpt-4o"
    assert stored["message_count"] == 4


async def test_stream_continuation_is_stored(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**config(fake)) as h:
        s = (await h.http.post("/v1/sessions", json={})).json()
        stream = await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[user("stream this please")],
            stream=True,
            extra_body={"session_id": s["id"]},
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        stored = (await h.http.get(f"/v1/sessions/{s['id']}", params={"limit": 1})).json()
        rest = (await h.http.get(f"/v1/sessions/{s['id']}", params={"after": 1})).json()
    assert text == "echo: stream this please"
    assert stored["messages"]["has_more"] is True
    assert stored["messages"]["data"][0]["content"] == "stream this please"
    reply = rest["messages"]["data"][0]
    assert reply["content"] == text
    assert reply["interrupted"] is False
    assert reply["usage"]["completion_tokens"] == 4  # kept although the client did not ask


async def test_history_is_trimmed_to_the_context(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(**config(fake)) as h:
        s = (await h.http.post("/v1/sessions", json={"system_prompt": "Stay kind."})).json()
        for i in range(6):
            await h.openai.chat.completions.create(
                model="tiny",
                messages=[user(f"message number {i} " + "x" * 40)],
                max_tokens=10,
                extra_body={"session_id": s["id"]},
            )
        r = await h.http.post(
            "/v1/chat/completions",
            json={
                "model": "tiny",
                "messages": [user("last")],
                "max_tokens": 10,
                "session_id": s["id"],
            },
        )
    sent = fake.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "Stay kind."}
    assert sent[-1] == user("last")
    assert sent[1]["role"] == "user"
    left_out = r.json()["session"]["messages_left_out"]
    assert left_out > 0
    assert left_out % 2 == 0
    assert len(sent) == 2 + 12 - left_out
    assert r.headers["x-plugai-messages-left-out"] == str(left_out)


async def test_closed_session_is_read_only(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**config(fake)) as h:
        s = (await h.http.post("/v1/sessions", json={})).json()
        closed = (await h.http.post(f"/v1/sessions/{s['id']}/close")).json()
        r = await h.http.post(
            "/v1/chat/completions",
            json={"model": "openai/gpt-4o-mini", "messages": [user("hi")], "session_id": s["id"]},
        )
        still = await h.http.get(f"/v1/sessions/{s['id']}")
    assert closed["closed"] is True
    assert r.status_code == 409
    assert "closed" in r.json()["error"]["message"]
    assert still.status_code == 200
    assert not fake.requests


async def test_failed_turn_stores_nothing(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    fake.enqueue(Error(status=400, message="nope"))
    async with plugai(**config(fake)) as h:
        s = (await h.http.post("/v1/sessions", json={})).json()
        with pytest.raises(openai.BadRequestError):
            await h.openai.chat.completions.create(
                model="openai/gpt-4o-mini",
                messages=[user("hi")],
                extra_body={"session_id": s["id"]},
            )
        stored = (await h.http.get(f"/v1/sessions/{s['id']}")).json()
    assert stored["messages"]["data"] == []


async def test_sessions_survive_a_restart(
    make_settings: Callable[..., Settings], fake: FakeOpenAI
) -> None:
    settings = make_settings(**config(fake))
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for turn in ("one", "two"):
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
            ) as c,
        ):
            if turn == "one":
                sid = (await c.post("/v1/sessions", json={})).json()["id"]
            r = await c.post(
                "/v1/chat/completions",
                json={"model": "openai/gpt-4o-mini", "messages": [user(turn)], "session_id": sid},
            )
            assert r.status_code == 200
    assert fake.requests[-1].body["messages"] == [
        user("one"),
        {"role": "assistant", "content": "echo: one"},
        user("two"),
    ]


def test_stream_cut_by_the_client_keeps_the_partial_reply(
    make_settings: Callable[..., Settings], fake: FakeOpenAI
) -> None:
    fake.enqueue(Reply(chunks=[f"w{i} " for i in range(100)], chunk_delay=0.05))
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with live_server(make_settings(**config(fake))) as url:
        sid = httpx.post(f"{url}/v1/sessions", json={}, headers=headers).json()["id"]
        with httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            headers=headers,
            json={
                "model": "openai/gpt-4o-mini",
                "messages": [user("long")],
                "stream": True,
                "session_id": sid,
            },
        ) as r:
            for line in r.iter_lines():
                if "w3 " in line:
                    break
        assert fake.wait_for_disconnect(timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            data = httpx.get(f"{url}/v1/sessions/{sid}", headers=headers).json()
            if data["message_count"] == 2:
                break
            time.sleep(0.05)
    reply = data["messages"]["data"][1]
    assert reply["interrupted"] is True
    assert reply["content"].startswith("w0 w1 w2 w3")
    assert len(reply["content"].split()) < 100


async def test_another_users_sessions_do_not_exist_for_them(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(**config(fake)) as h:
        s = (await h.http.post("/v1/sessions", json={"title": "secret plans"})).json()
        bob_key = (await h.http.post("/v1/admin/users", json={"name": "bob"})).json()["api_key"]
        bob = {"Authorization": f"Bearer {bob_key}"}
        sid = s["id"]
        answers = [
            await h.http.get(f"/v1/sessions/{sid}", headers=bob),
            await h.http.patch(f"/v1/sessions/{sid}", json={"title": "mine"}, headers=bob),
            await h.http.post(f"/v1/sessions/{sid}/close", headers=bob),
            await h.http.delete(f"/v1/sessions/{sid}", headers=bob),
            await h.http.post(
                "/v1/chat/completions",
                headers=bob,
                json={"model": "openai/gpt-4o-mini", "messages": [user("x")], "session_id": sid},
            ),
            await h.http.get("/v1/sessions/sess_doesnotexist", headers=bob),
        ]
        listed = (await h.http.get("/v1/sessions", headers=bob)).json()
        searched = (await h.http.get("/v1/sessions", params={"q": "secret"}, headers=bob)).json()
        mine = (await h.http.get(f"/v1/sessions/{sid}")).json()
    assert [a.status_code for a in answers] == [404] * 6
    assert answers[0].json()["error"]["message"].replace(sid, "ID") == answers[5].json()["error"][
        "message"
    ].replace("sess_doesnotexist", "ID")
    assert listed["data"] == []
    assert searched["data"] == []
    assert mine["title"] == "secret plans"
    assert mine["closed"] is False
    assert not fake.requests


async def test_messages_api_continues_the_same_session(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    import anthropic

    async with plugai(**config(fake)) as h:
        s = (await h.http.post("/v1/sessions", json={})).json()
        client = anthropic.AsyncAnthropic(
            api_key=ADMIN_KEY, base_url="http://plugai", http_client=h.http, max_retries=0
        )
        first = await client.messages.create(
            model="openai/gpt-4o-mini",
            max_tokens=50,
            messages=[user("from anthropic")],
            extra_body={"session_id": s["id"]},
        )
        async with client.messages.stream(
            model="openai/gpt-4o-mini",
            max_tokens=50,
            messages=[user("streamed")],
            extra_body={"session_id": s["id"]},
        ) as stream:
            streamed = await stream.get_final_text()
        await h.openai.chat.completions.create(
            model="openai/gpt-4o",
            messages=[user("from openai")],
            extra_body={"session_id": s["id"]},
        )
        stored = (await h.http.get(f"/v1/sessions/{s['id']}")).json()
    assert first.content[0].text == "echo: from anthropic"  # type: ignore[union-attr]
    assert streamed == "echo: streamed"
    assert [m["content"] for m in stored["messages"]["data"]] == [
        "from anthropic",
        "echo: from anthropic",
        "streamed",
        "echo: streamed",
        "from openai",
        "echo: from openai",
    ]
    assert fake.requests[-1].body["messages"][:2] == [
        user("from anthropic"),
        {"role": "assistant", "content": "echo: from anthropic"},
    ]


async def test_concurrent_turns_get_distinct_sequence_numbers(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    import asyncio

    async with plugai(**config(fake)) as h:
        s = (await h.http.post("/v1/sessions", json={})).json()
        results = await asyncio.gather(
            *[
                h.http.post(
                    "/v1/chat/completions",
                    json={
                        "model": "openai/gpt-4o-mini",
                        "messages": [user(f"n{i}")],
                        "session_id": s["id"],
                    },
                )
                for i in range(6)
            ]
        )
        stored = (await h.http.get(f"/v1/sessions/{s['id']}")).json()
    assert [r.status_code for r in results] == [200] * 6
    seqs = [m["seq"] for m in stored["messages"]["data"]]
    assert seqs == list(range(1, 13))
    assert stored["message_count"] == 12
