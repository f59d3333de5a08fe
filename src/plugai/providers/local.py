"""Local models (``local/<name>``) behind the same API as every provider: the adapter turns
canonical requests into engine jobs and hands them to the ``ModelManager``, which runs them
in the model's worker process."""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel

from plugai.core.chat import ChatChunk, ChatCompletion, ChatRequest, collect, usage
from plugai.core.completions import CompletionRequest, TextCompletion
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import CapabilityNotSupported, InvalidRequest, UpstreamProtocolError
from plugai.core.images import GeneratedImage, ImageRequest, ImageResult, InputImage, Progress
from plugai.core.meshes import GeneratedFile, GeneratedMesh, MeshRequest, MeshResult
from plugai.core.models import Capabilities, Modality, ModelCard
from plugai.local.engines import engine_class
from plugai.local.engines.base import Job
from plugai.local.manager import ModelManager
from plugai.local.options import keep_alive_seconds
from plugai.providers.base import Operation, Provider
from plugai.settings import LocalSettings, ProviderSettings, Settings


class LocalProvider(Provider):
    adapter = "local"
    requires_key = False

    def __init__(self, config: ProviderSettings, local: LocalSettings | None = None) -> None:
        super().__init__(config)
        self.manager = ModelManager(local or LocalSettings())

    @classmethod
    def build(cls, config: ProviderSettings, settings: Settings | None = None) -> Provider:
        return cls(config, settings.local if settings else None)

    # --- declarations -------------------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        spec = self.manager.spec(model)
        return engine_class(spec.engine).capabilities(spec)

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        spec = self.manager.spec(model)
        try:
            return engine_class(spec.engine).options(operation, spec)
        except KeyError:
            raise CapabilityNotSupported(
                f"local/{model} does not offer {operation}.", param="model"
            ) from None

    def card(self, model: str) -> ModelCard:
        card = super().card(model)
        card.source = "local"
        card.context_length = self.manager.spec(model).n_ctx
        caps = card.capabilities
        if caps.embeddings and not caps.chat:
            card.output_modalities = [Modality.EMBEDDING]
        if caps.images:
            card.output_modalities = [Modality.IMAGE]
            card.input_modalities = [Modality.TEXT, Modality.IMAGE]  # image-to-image
        if caps.meshes:
            card.output_modalities = [Modality.MESH]
            card.input_modalities = _mesh_inputs(self.manager.spec(model).path)
        return card

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        self.manager.rescan()
        return [self.card(spec.name) for spec in self.manager.specs()]

    # --- operations ---------------------------------------------------------------------
    def _run(self, model: str, job: Job) -> AsyncGenerator[dict[str, Any], None]:
        params = dict(job.params)
        try:
            keep_alive = keep_alive_seconds(params.pop("keep_alive", None))
        except (TypeError, ValueError) as exc:
            raise InvalidRequest(
                f"Invalid value for 'keep_alive': {exc}", param="keep_alive"
            ) from exc
        job.params = params
        return self.manager.run(model, job, keep_alive)

    async def stream_chat(
        self, request: ChatRequest, creds: Credentials
    ) -> AsyncIterator[ChatChunk]:
        job = Job("chat", request.params, messages=_text_messages(request.messages))
        async with aclosing(self._run(request.model, job)) as outputs:
            async for item in outputs:
                yield cast(ChatChunk, item)

    async def chat(self, request: ChatRequest, creds: Credentials) -> ChatCompletion:
        return await collect(self.stream_chat(request, creds))

    async def stream_complete(
        self, request: CompletionRequest, creds: Credentials
    ) -> AsyncIterator[TextCompletion]:
        job = Job("completions", request.params, prompt=_one_prompt(request.prompt))
        async with aclosing(self._run(request.model, job)) as outputs:
            async for item in outputs:
                yield cast(TextCompletion, item)

    async def complete(self, request: CompletionRequest, creds: Credentials) -> TextCompletion:
        first: TextCompletion | None = None
        text: list[str] = []
        finish = None
        final_usage = None
        async for piece in self.stream_complete(request, creds):
            first = first or piece
            for choice in piece["choices"]:
                text.append(choice.get("text") or "")
                finish = choice.get("finish_reason") or finish
            final_usage = piece.get("usage") or final_usage
        if first is None:
            raise UpstreamProtocolError(f"local/{request.model} returned nothing")
        return {
            "id": first["id"],
            "object": "text_completion",
            "created": first["created"],
            "model": first["model"],
            "choices": [{"index": 0, "text": "".join(text), "finish_reason": finish}],
            "usage": final_usage or usage(0, 0),
        }

    async def embed(self, request: EmbeddingRequest, creds: Credentials) -> EmbeddingResult:
        if any(not isinstance(i, str) for i in request.inputs):
            raise InvalidRequest("Local models embed text, not token ids.", param="input")
        job = Job("embeddings", request.params, inputs=cast(list[str], request.inputs))
        async with aclosing(self._run(request.model, job)) as outputs:
            async for item in outputs:
                return EmbeddingResult(
                    vectors=item["vectors"],
                    prompt_tokens=int(item.get("prompt_tokens", 0)),
                    model=f"{self.name}/{request.model}",
                )
        raise UpstreamProtocolError(f"local/{request.model} returned no embeddings")

    async def generate_images(self, request: ImageRequest, creds: Credentials) -> ImageResult:
        job = Job("images", {**request.params, "n": request.n}, prompt=request.prompt)
        files = await self._generate(
            request.model, job, request.image, request.output_dir, request.progress
        )
        images = [
            GeneratedImage(path=Path(f["path"]), mime=f["mime"], meta=dict(f.get("meta") or {}))
            for f in files
            if f.get("kind") == "image"
        ]
        if not images:
            raise UpstreamProtocolError(f"local/{request.model} produced no image")
        return ImageResult(images=images)

    async def generate_3d(self, request: MeshRequest, creds: Credentials) -> MeshResult:
        params = {**request.params, "format": request.format}
        job = Job("3d", params, prompt=request.prompt)
        files = await self._generate(
            request.model, job, request.image, request.output_dir, request.progress
        )
        previews = [_file(f) for f in files if f.get("kind") == "preview"]
        meshes = [
            GeneratedMesh(_file(f), previews[i] if i < len(previews) else None)
            for i, f in enumerate(x for x in files if x.get("kind") == "mesh")
        ]
        if not meshes:
            raise UpstreamProtocolError(f"local/{request.model} produced no mesh")
        return MeshResult(meshes=meshes)

    async def _generate(
        self,
        model: str,
        job: Job,
        image: InputImage | None,
        output_dir: Path | None,
        progress: Progress | None,
    ) -> list[dict[str, Any]]:
        """Run an image or 3D job: the input image goes to a file in the staging folder,
        progress is reported as it comes, and the announced files are returned."""
        if output_dir is None:
            raise UpstreamProtocolError("local generation needs a staging folder")
        job.output_dir = str(output_dir)
        if image is not None:
            suffix = mimetypes.guess_extension(image.mime) or ".img"
            path = output_dir / f"input{suffix}"
            await asyncio.to_thread(path.write_bytes, image.data)
            job.image = str(path)
        files: list[dict[str, Any]] = []
        async with aclosing(self._run(model, job)) as outputs:
            async for item in outputs:
                if item.get("type") == "progress":
                    if progress is not None:
                        progress(int(item["step"]), int(item["steps"]))
                elif item.get("type") == "file":
                    path = Path(str(item.get("path")))
                    if path.parent != output_dir:
                        raise UpstreamProtocolError(
                            f"local/{model} wrote outside its staging folder"
                        )
                    files.append(item)
        return files

    async def aclose(self) -> None:
        await self.manager.aclose()


def _file(item: dict[str, Any]) -> GeneratedFile:
    return GeneratedFile(
        mime=str(item["mime"]), path=Path(str(item["path"])), meta=dict(item.get("meta") or {})
    )


def _mesh_inputs(path: Path) -> list[Modality]:
    """Shap-E's image-to-3D pipeline starts from an image, its text pipeline from text."""
    index = path / "model_index.json"
    try:
        text = index.read_text()
    except OSError:
        return [Modality.TEXT]
    return [Modality.IMAGE] if "Img2Img" in text else [Modality.TEXT]


def _one_prompt(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    raise InvalidRequest("Local models take one text prompt.", param="prompt")


def _text_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat templates expect text content: text parts are joined, other parts refused."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            texts = []
            for part in content:
                if part.get("type") != "text":
                    raise CapabilityNotSupported(
                        "Local text models take text content only.", param="messages"
                    )
                texts.append(str(part.get("text") or ""))
            message = {**message, "content": "".join(texts)}
        out.append(message)
    return out
