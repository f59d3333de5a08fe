"""``client.embeddings``: vectors as lists of floats (base64 answers are decoded).

result = client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
vectors = result.vectors
"""

from __future__ import annotations

import base64
import struct
from typing import Any, Literal

from plugai_client.resources._base import AsyncResource, SyncResource
from plugai_client.types.embeddings import EmbeddingList

PATH = "/v1/embeddings"
Input = str | list[str] | list[int] | list[list[int]]
Encoding = Literal["float", "base64"]


def _body(model: str, input: Input, encoding: Encoding, params: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "input": input, "encoding_format": encoding, **params}


def decode_floats(value: str) -> list[float]:
    """Little-endian float32s, base64-encoded (OpenAI's ``encoding_format="base64"``)."""
    raw = base64.b64decode(value)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _parse(body: Any) -> EmbeddingList:
    for item in body.get("data", []) if isinstance(body, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("embedding"), str):
            item["embedding"] = decode_floats(item["embedding"])
    return EmbeddingList.model_validate(body)


class Embeddings(SyncResource):
    def create(
        self, *, model: str, input: Input, encoding_format: Encoding = "float", **params: Any
    ) -> EmbeddingList:
        """Embed ``input`` (a text, texts, or token ids). ``encoding_format="base64"`` is
        smaller on the wire; the vectors come back as floats either way."""
        body = _body(model, input, encoding_format, params)
        return _parse(self._t.json("POST", PATH, body=body))


class AsyncEmbeddings(AsyncResource):
    async def create(
        self, *, model: str, input: Input, encoding_format: Encoding = "float", **params: Any
    ) -> EmbeddingList:
        """See :meth:`Embeddings.create`."""
        body = _body(model, input, encoding_format, params)
        return _parse(await self._t.json("POST", PATH, body=body))
