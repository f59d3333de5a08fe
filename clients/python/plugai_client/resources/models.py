"""``client.models``: model cards and their parameter schemas.

for card in client.models.list():
    print(card.id, card.capabilities)
schema = client.models.parameters("openai/gpt-4o-mini")  # JSON Schema
"""

from __future__ import annotations

from typing import Any

from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.models import ModelCard, ModelList


def _path(model_id: str, tail: str = "") -> str:
    return f"/v1/models/{segment(model_id, slashes=True)}{tail}"


class Models(SyncResource):
    def list(self) -> list[ModelCard]:
        """Every model the caller can use."""
        return ModelList.model_validate(self._t.json("GET", "/v1/models")).data

    def get(self, model_id: str) -> ModelCard:
        """One model's card (``NotFoundError`` when unknown)."""
        return ModelCard.model_validate(self._t.json("GET", _path(model_id)))

    def parameters(self, model_id: str) -> dict[str, Any]:
        """The JSON Schema of the parameters the model accepts."""
        schema: dict[str, Any] = self._t.json("GET", _path(model_id, "/parameters"))
        return schema


class AsyncModels(AsyncResource):
    async def list(self) -> list[ModelCard]:
        return ModelList.model_validate(await self._t.json("GET", "/v1/models")).data

    async def get(self, model_id: str) -> ModelCard:
        return ModelCard.model_validate(await self._t.json("GET", _path(model_id)))

    async def parameters(self, model_id: str) -> dict[str, Any]:
        schema: dict[str, Any] = await self._t.json("GET", _path(model_id, "/parameters"))
        return schema
