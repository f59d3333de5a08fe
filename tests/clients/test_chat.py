"""Chat, completions, embeddings, images and model cards through the client, sync and
async, against a real server and a fake upstream."""

from __future__ import annotations

import pytest
from plugai_client import AsyncPlugAI, AsyncStream, PlugAI, Stream
from plugai_client.types import ChatCompletion, ChatCompletionChunk, Completion

from tests.clients.conftest import CHAT, Gateway
from tests.fakes.base import Reply, embedding_for


def test_chat_whole_and_streamed(client: PlugAI, gateway: Gateway) -> None:
    answer = client.chat.create(model=CHAT, messages="hello world", temperature=0)
    assert isinstance(answer, ChatCompletion)
    assert answer.text == "echo: hello world"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    assert gateway.fake.last_request is not None
    assert gateway.fake.last_request.body["temperature"] == 0

    with client.chat.create(
        model="tiny", messages=[{"role": "user", "content": "a b c"}], stream=True
    ) as stream:
        assert isinstance(stream, Stream)
        assert stream.request_id
        chunks = list(stream)
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert "".join(c.text for c in chunks) == "echo: a b c"
    assert chunks[-1].choices[0].finish_reason == "stop"

    text = client.chat.create(model=CHAT, messages="one two", stream=True).text()
    assert text == "echo: one two"
    gateway.fake.enqueue(Reply(chunks=["x", "y", "z"]))
    pieces = list(client.chat.create(model=CHAT, messages="q", stream=True).text_deltas())
    assert pieces == ["x", "y", "z"]


async def test_chat_async(aclient: AsyncPlugAI) -> None:
    answer = await aclient.chat.create(model=CHAT, messages="hi there")
    assert answer.text == "echo: hi there"
    stream = await aclient.chat.create(
        model=CHAT, messages="a b", stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, AsyncStream)
    chunks = [c async for c in stream]
    assert "".join(c.text for c in chunks) == "echo: a b"
    assert chunks[-1].usage is not None
    async with await aclient.chat.create(model=CHAT, messages="c d", stream=True) as s2:
        assert await s2.text() == "echo: c d"


def test_completions_sync(client: PlugAI) -> None:
    whole = client.completions.create(model=CHAT, prompt="say this", max_tokens=5)
    assert isinstance(whole, Completion)
    assert whole.object == "text_completion"
    assert whole.text
    streamed = client.completions.create(model=CHAT, prompt="say this", stream=True)
    assert streamed.text() == whole.text


async def test_completions_async(aclient: AsyncPlugAI) -> None:
    whole = await aclient.completions.create(model=CHAT, prompt="p q")
    stream = await aclient.completions.create(model=CHAT, prompt="p q", stream=True)
    assert await stream.text() == whole.text


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings_floats_either_way(client: PlugAI, encoding: str) -> None:
    result = client.embeddings.create(
        model="openai/text-embedding-3-small",
        input=["alpha", "beta"],
        encoding_format=encoding,  # type: ignore[arg-type]
    )
    assert result.vectors == [embedding_for("alpha", 8), embedding_for("beta", 8)]
    assert result.usage.prompt_tokens >= 2


async def test_embeddings_async(aclient: AsyncPlugAI) -> None:
    result = await aclient.embeddings.create(
        model="openai/text-embedding-3-small", input="alpha", encoding_format="base64"
    )
    assert result.vectors == [embedding_for("alpha", 8)]


def test_images(client: PlugAI) -> None:
    result = client.images.generate(
        model="openai/dall-e-3", prompt="a red cube", response_format="b64_json"
    )
    png = result.data[0].data()
    assert png is not None and png.startswith(b"\x89PNG")


async def test_images_async(aclient: AsyncPlugAI) -> None:
    result = await aclient.images.generate(model="openai/dall-e-3", prompt="blue", n=2)
    assert len(result.data) == 2
    assert all(image.url for image in result.data)


def test_models(client: PlugAI) -> None:
    cards = client.models.list()
    ids = [c.id for c in cards]
    assert "tiny" in ids
    card = client.models.get("tiny")
    assert card.provider == "openai"
    assert card.capabilities
    by_path = client.models.get(CHAT)
    assert by_path.id == CHAT
    schema = client.models.parameters(CHAT)
    assert "temperature" in schema["properties"]


async def test_models_async(aclient: AsyncPlugAI) -> None:
    assert "tiny" in [c.id for c in await aclient.models.list()]
    assert (await aclient.models.get("tiny")).id == "tiny"
    assert "properties" in await aclient.models.parameters("tiny")
