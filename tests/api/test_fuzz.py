"""No input produces a 500: random JSON bodies and random parameter values on every
endpoint get a 2xx or a 4xx in the OpenAI envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.openai_fake import FakeOpenAI

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "model",
    "messages",
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "tools",
    "tool_choice",
    "response_format",
    "stream",
    "stream_options",
    "logprobs",
    "input",
    "prompt",
    "size",
    "encoding_format",
    "seed",
    "user",
    "logit_bias",
    "max_tokens",
]
ENDPOINTS = [
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/images/generations",
    "/v1/messages",
]


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4).map(
        lambda extra: {**base, **extra}
    )


BODIES = st.one_of(
    JSON,
    mutated({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    mutated({"model": "openai/text-embedding-3-small", "input": "hi"}),
    mutated({"model": "openai/dall-e-3", "prompt": "a cat"}),
    mutated(
        {
            "model": "openai/gpt-4o-mini",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
        }
    ),
)


async def test_random_bodies_never_cause_a_server_error(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(
            providers=[{"name": "openai", "type": "openai", "base_url": fake.url, "api_key": "k"}]
        ) as h:
            seen: list[int] = []

            @settings(
                max_examples=150,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(endpoint=st.sampled_from(ENDPOINTS), body=BODIES)
            def check(endpoint: str, body: Any) -> None:
                seen.append(0)
                bodies.append((endpoint, body))

            bodies: list[tuple[str, Any]] = []
            check()
            for endpoint, body in bodies:
                r = await h.http.post(endpoint, json=body)
                assert r.status_code < 500, (endpoint, body, r.text)
                if r.status_code >= 400:
                    body = r.json()
                    error = body["error"]
                    assert error["message"]
                    if endpoint == "/v1/messages":  # Anthropic's own error shape
                        assert body["type"] == "error"
                        assert error["type"]
                    else:
                        assert set(error) >= {"message", "type", "param", "code"}
            assert len(seen) == 150
