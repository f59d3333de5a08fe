"""Parameter schemas: the standard parameters of chat, completions, embeddings and images,
with OpenAI's bounds, defaults and descriptions. The API documents its requests with them;
each adapter declares the subset (or its own model) that its upstream accepts, and the JSON
Schema of that is the model card's ``parameters``."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

Stop = str | list[str]


class ChatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", title="ChatParameters")

    temperature: float | None = Field(
        1.0, ge=0, le=2, description="Sampling temperature; higher is more random."
    )
    top_p: float | None = Field(1.0, ge=0, le=1, description="Nucleus sampling mass.")
    n: int | None = Field(1, ge=1, le=128, description="How many choices to generate.")
    stop: Stop | None = Field(None, description="Up to 4 sequences where generation stops.")
    max_tokens: int | None = Field(None, ge=1, description="Most tokens to generate (legacy).")
    max_completion_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    presence_penalty: float | None = Field(0.0, ge=-2, le=2, description="Penalty for new topics.")
    frequency_penalty: float | None = Field(0.0, ge=-2, le=2, description="Penalty for repeats.")
    logit_bias: dict[str, float] | None = Field(None, description="Token id → bias (-100..100).")
    logprobs: bool | None = Field(False, description="Return log probabilities of the tokens.")
    top_logprobs: int | None = Field(None, ge=0, le=20, description="Alternatives per token.")
    seed: int | None = Field(None, description="Best-effort deterministic sampling.")
    tools: list[dict[str, Any]] | None = Field(None, description="Functions the model may call.")
    tool_choice: str | dict[str, Any] | None = Field(
        None, description="none, auto, required, or a specific function."
    )
    parallel_tool_calls: bool | None = Field(True, description="Allow several calls at once.")
    response_format: dict[str, Any] | None = Field(
        None, description="text, json_object or json_schema."
    )
    user: str | None = Field(None, description="An id for the end user.")
    service_tier: str | None = Field(None, description="Upstream service tier.")
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = Field(
        None, description="For reasoning models."
    )
    metadata: dict[str, str] | None = None
    store: bool | None = None


class CompletionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", title="CompletionParameters")

    temperature: float | None = Field(1.0, ge=0, le=2)
    top_p: float | None = Field(1.0, ge=0, le=1)
    n: int | None = Field(1, ge=1, le=128)
    stop: Stop | None = None
    max_tokens: int | None = Field(16, ge=1)
    presence_penalty: float | None = Field(0.0, ge=-2, le=2)
    frequency_penalty: float | None = Field(0.0, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: int | None = Field(None, ge=0, le=5)
    echo: bool | None = False
    best_of: int | None = Field(None, ge=1, le=20)
    suffix: str | None = None
    seed: int | None = None
    user: str | None = None


class EmbeddingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", title="EmbeddingParameters")

    dimensions: int | None = Field(None, ge=1, description="Shorten vectors to this size.")
    user: str | None = None


class ImageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", title="ImageParameters")

    size: str | None = Field("1024x1024", pattern=r"^\d{2,5}x\d{2,5}$|^auto$")
    quality: str | None = Field(None, description="standard, hd, low, medium, high, auto.")
    style: Literal["vivid", "natural"] | None = None
    background: str | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    user: str | None = None


BY_OPERATION: dict[str, type[BaseModel]] = {
    "chat": ChatOptions,
    "completions": CompletionOptions,
    "embeddings": EmbeddingOptions,
    "images": ImageOptions,
}


@cache
def subset(operation: str, without: frozenset[str]) -> type[BaseModel]:
    """The options of ``operation`` minus the parameters a service does not take."""
    base = BY_OPERATION[operation]
    if not without:
        return base
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in base.model_fields.items()
        if name not in without
    }
    model: type[BaseModel] = create_model(base.__name__, __config__=base.model_config, **fields)
    return model


class _FlatNullable(GenerateJsonSchema):
    """Optional parameters are documented by their value schema alone (bounds at the top
    level, where a form builder looks for them); leaving one out is what "null" means."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


def parameter_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a parameter model, as model cards publish it."""
    return model.model_json_schema(schema_generator=_FlatNullable)
