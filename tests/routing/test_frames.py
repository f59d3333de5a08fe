"""Raw chunk JSON → SSE frames (``routing.gateway._frames``): usage is counted and shown
as asked, and everything else keeps the upstream's bytes."""

from __future__ import annotations

import orjson
import pytest

from plugai.routing.gateway import _frames

USAGE = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
ONLY_USAGE = orjson.dumps({"id": "c", "choices": [], "usage": USAGE})


def frames(*events: bytes, include_usage: bool = False) -> tuple[list[bytes], object]:
    out, usage = _frames(list(events), include_usage, None)
    assert not out or (out.startswith(b"data: ") and out.endswith(b"\n\n"))
    return [f.removeprefix(b"data: ") for f in out.split(b"\n\n") if f], usage


def test_untouched_chunks_keep_their_bytes() -> None:
    odd = b'{"choices": [{"delta": {"content": "the usage of \\"usage\\""}}], "z": 1}'
    mention = b'{"choices": [], "note": "usage"}'  # decoded: no usage key, bytes kept
    broken = b'{"usage": {"prompt_tokens": 1'  # not JSON: passed on, not counted
    assert frames(odd, mention, broken) == ([odd, mention, broken], None)


@pytest.mark.parametrize("include_usage", [False, True])
def test_usage_only_chunk_is_counted_and_shown_as_asked(include_usage: bool) -> None:
    chunk = b'{"id":"c","choices":[{"delta":{}}],"usage":null}'
    shown, usage = frames(chunk, ONLY_USAGE, include_usage=include_usage)
    assert usage == USAGE
    if include_usage:
        assert shown == [chunk, ONLY_USAGE]
    else:
        assert shown == [b'{"id":"c","choices":[{"delta":{}}]}']


def test_null_usage_in_other_places_and_spellings_is_dropped_when_not_asked() -> None:
    first = b'{"usage":null,"id":"c","choices":[{"index":0}]}'
    spaced = b'{"id": "c", "choices": [{"index": 0}], "usage": null}'
    shown, usage = frames(first, spaced)
    assert [orjson.loads(s) for s in shown] == [{"id": "c", "choices": [{"index": 0}]}] * 2
    assert usage is None
    assert frames(first, spaced, include_usage=True)[0] == [first, spaced]


def test_a_batch_of_only_hidden_usage_sends_nothing() -> None:
    assert _frames([ONLY_USAGE], False, None) == (b"", USAGE)
