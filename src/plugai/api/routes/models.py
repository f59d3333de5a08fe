"""Model cards: what each model is, can do, and which parameters it takes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from plugai.api.deps import CatalogDep, CurrentUser
from plugai.core.models import ModelCard
from plugai.protocol.openai import ModelList, ModelObject

router = APIRouter(prefix="/v1", tags=["models"])


def model_object(card: ModelCard) -> ModelObject:
    return ModelObject(
        id=card.id,
        created=card.created,
        owned_by=card.owned_by or card.provider,
        provider=card.provider,
        input_modalities=[str(m) for m in card.input_modalities],
        output_modalities=[str(m) for m in card.output_modalities],
        capabilities=card.capabilities.as_dict(),
        context_length=card.context_length,
        aliases=card.aliases,
        parameters=card.parameters,
    )


@router.get("/models", summary="Every model you can call")
async def list_models(catalog: CatalogDep, _: CurrentUser) -> ModelList:
    return ModelList(data=[model_object(c) for c in await catalog.all()])


@router.get("/models/{model_id:path}/parameters", summary="JSON Schema of a model's parameters")
async def model_parameters(model_id: str, catalog: CatalogDep, _: CurrentUser) -> dict[str, Any]:
    return (await catalog.get(model_id)).parameters


@router.get("/models/{model_id:path}", summary="A model card")
async def get_model(model_id: str, catalog: CatalogDep, _: CurrentUser) -> ModelObject:
    return model_object(await catalog.get(model_id))
