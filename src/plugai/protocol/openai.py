"""The OpenAI wire format at PlugAI's edge: request models (validated, documented in the
OpenAPI document) and response models (documentation of what the routes send)."""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from plugai.core.parameters import (
    ChatOptions,
    CompletionOptions,
    EmbeddingOptions,
    ImageOptions,
)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ImageURL(_Open):
    url: str = Field(description="http(s) URL or data: URL of the image.")
    detail: Literal["auto", "low", "high"] | None = None


class ContentPart(_Open):
    type: str = Field(description="text, image_url, input_audio, file, …")
    text: str | None = None
    image_url: ImageURL | None = None


class FunctionCallModel(_Open):
    name: str
    arguments: str


class ToolCallModel(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallModel


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallModel] | None = None
    tool_call_id: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool = False


_REQUEST_FIELDS = frozenset(
    {"model", "messages", "prompt", "input", "stream", "stream_options", "session_id"}
)


class ChatCompletionRequest(ChatOptions):
    """OpenAI's chat request. Parameters beyond these go to the model when it accepts them."""

    model_config = ConfigDict(extra="allow", title="ChatCompletionRequest")

    model: str = Field(description="provider/model, a configured model id, or an alias.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    session_id: str | None = Field(
        None, description="PlugAI: continue this stored session (history + these messages)."
    )

    def params(self) -> dict[str, Any]:
        """The parameters the caller set, extra ones included."""
        return self.model_dump(exclude_unset=True, exclude=set(_REQUEST_FIELDS))

    def message_dicts(self) -> list[dict[str, Any]]:
        return [m.model_dump(exclude_unset=True) for m in self.messages]


class CompletionRequestModel(CompletionOptions):
    model_config = ConfigDict(extra="allow", title="CompletionRequest")

    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: bool = False
    stream_options: StreamOptions | None = None

    def params(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude=set(_REQUEST_FIELDS))


class EmbeddingRequestModel(EmbeddingOptions):
    model_config = ConfigDict(extra="allow", title="EmbeddingRequest")

    model: str
    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="Text, a list of texts, or token ids."
    )
    encoding_format: Literal["float", "base64"] = "float"

    def params(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"model", "input", "encoding_format"})

    def inputs(self) -> list[str] | list[list[int]]:
        value = self.input
        if isinstance(value, str):
            return [value]
        if value and isinstance(value[0], int):
            return [cast(list[int], value)]
        return cast(list[str] | list[list[int]], value)


IMAGE_INPUT_DOC = "An http(s) URL, a data: URL or the id of one of your artifacts (art_…)."
ASYNC_DOC = (
    "PlugAI: answer 202 at once with a generation job; follow it at /v1/jobs/{id} "
    "(or its /events stream) and find the result there."
)


class ImageGenerationRequest(ImageOptions):
    """OpenAI's image request; a model's own parameters (see its card) travel alongside."""

    model_config = ConfigDict(extra="allow", title="ImageGenerationRequest")

    model: str
    prompt: str = Field(min_length=1, max_length=32000)
    n: int = Field(1, ge=1, le=10)
    response_format: Literal["url", "b64_json"] = "url"
    image: str | None = Field(
        None, description=f"PlugAI: start from this image (image-to-image). {IMAGE_INPUT_DOC}"
    )
    async_: bool = Field(False, alias="async", description=ASYNC_DOC)

    def params(self) -> dict[str, Any]:
        return self.model_dump(
            exclude_unset=True,
            exclude={"model", "prompt", "n", "response_format", "image", "async_"},
        )


# --- response documentation ---------------------------------------------------------------
class UsageModel(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessageModel(BaseModel):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None = None
    tool_calls: list[ToolCallModel] | None = None


class ChoiceModel(BaseModel):
    index: int
    message: AssistantMessageModel
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChoiceModel]
    usage: UsageModel | None = None


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: EmbeddingUsage


class ImageData(BaseModel):
    b64_json: str | None = None
    url: str | None = Field(None, description="Signed: it works without a key until it expires.")
    revised_prompt: str | None = None
    artifact_id: str | None = Field(None, description="PlugAI: the stored image (/v1/artifacts).")


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]


class ModelObject(BaseModel):
    """OpenAI's model object plus PlugAI's model card fields."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    provider: str
    input_modalities: list[str]
    output_modalities: list[str]
    capabilities: dict[str, bool]
    context_length: int | None = None
    aliases: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(description="JSON Schema of the parameters it accepts.")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]
