"""Safetensors causal LMs through transformers: chat with the model's own chat template,
token streaming (``TextIteratorStreamer``), mean-pooled sentence embeddings, and JSON output
held to ``response_format`` (``json_object`` / ``json_schema``) by llguidance's token masks
(``constrained.py``). The device is chosen automatically: CUDA, then Apple MPS, else the
CPU."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from plugai.core.models import Capabilities
from plugai.local.engines.base import Engine, EngineInputError, Job, ModelSpec, Output
from plugai.local.engines.constrained import JsonConstraint, JsonLogitsProcessor, json_target
from plugai.local.options import (
    LocalCompletionOptions,
    LocalEmbeddingOptions,
    PlainChatOptions,
    max_tokens,
    stops,
)

_RESPONSE_FORMAT = "text, json_object or json_schema (token-masked by llguidance)."


class TransformersChatOptions(PlainChatOptions):
    model_config = ConfigDict(extra="forbid", title="LocalChatParameters")

    response_format: dict[str, Any] | None = Field(None, description=_RESPONSE_FORMAT)


class TransformersCompletionOptions(LocalCompletionOptions):
    model_config = ConfigDict(extra="forbid", title="LocalCompletionParameters")

    response_format: dict[str, Any] | None = Field(None, description=_RESPONSE_FORMAT)


def pick_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class TransformersEngine(Engine):
    name = "transformers"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self._constraint: JsonConstraint | None = None  # built on the first JSON request
        self._constraint_lock = threading.Lock()

    @classmethod
    def capabilities(cls, spec: ModelSpec) -> Capabilities:
        return Capabilities(
            chat=True, completions=True, embeddings=True, json_schema=True, json_object=True
        )

    @classmethod
    def options(cls, operation: str, spec: ModelSpec | None = None) -> type[BaseModel]:
        options: dict[str, type[BaseModel]] = {
            "chat": TransformersChatOptions,
            "completions": TransformersCompletionOptions,
            "embeddings": LocalEmbeddingOptions,
        }
        return options[operation]

    def load(self) -> dict[str, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.spec.threads:
            torch.set_num_threads(self.spec.threads)
        self._device = pick_device()
        dtype = torch.float16 if self._device == "cuda" else torch.float32
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.spec.path))
        model: Any = AutoModelForCausalLM.from_pretrained(str(self.spec.path), dtype=dtype)
        self._model = model.to(self._device).eval()
        n_ctx = getattr(model.config, "max_position_embeddings", None) or self.spec.n_ctx
        return {"device": self._device, "n_ctx": int(n_ctx), "engine": self.name}

    def unload(self) -> None:
        self._model = self._tokenizer = self._constraint = None

    # --- running ------------------------------------------------------------------------
    def run(self, job: Job, cancelled: Callable[[], bool]) -> Iterator[Output]:
        if job.kind == "embeddings":
            yield self._embed(job.inputs or [])
            return
        if job.kind == "chat":
            if not getattr(self._tokenizer, "chat_template", None):
                raise EngineInputError(f"{self.spec.name} has no chat template")
            prompt = self._tokenizer.apply_chat_template(
                job.messages or [], tokenize=False, add_generation_prompt=True
            )
        else:
            prompt = job.prompt or ""
        yield from self._generate(job, str(prompt), cancelled)

    def _eos_ids(self) -> list[int]:
        eos = self._model.generation_config.eos_token_id
        if eos is None:
            eos = self._tokenizer.eos_token_id
        return [int(eos)] if isinstance(eos, int) else [int(e) for e in eos or []]

    def _json_processor(self, response_format: Any) -> JsonLogitsProcessor | None:
        """The job's own token mask for ``response_format`` (None for plain text). Raises
        ``EngineInputError`` before generation starts, so a bad schema is a 400."""
        target = json_target(response_format)
        if target is None:
            return None
        with self._constraint_lock:
            if self._constraint is None:
                head = self._model.get_output_embeddings()
                width = head.weight.shape[0] if head is not None else len(self._tokenizer)
                self._constraint = JsonConstraint(
                    self._tokenizer,
                    n_vocab=max(int(width), len(self._tokenizer)),
                    eos=self._eos_ids(),
                )
            constraint = self._constraint
        schema, strict = target
        return constraint.processor(schema, strict=strict)

    def _generate(self, job: Job, prompt: str, cancelled: Callable[[], bool]) -> Iterator[Output]:
        import torch
        from transformers import (
            LogitsProcessorList,
            StoppingCriteria,
            StoppingCriteriaList,
            TextIteratorStreamer,
        )

        params = job.params
        constraint = self._json_processor(params.get("response_format"))
        encoded = self._tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        encoded = {k: v.to(self._device) for k, v in encoded.items()}
        n_prompt = int(encoded["input_ids"].shape[1])
        stop_now = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop_now.is_set() or cancelled()

        streamer: Any = TextIteratorStreamer(
            self._tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600
        )
        temperature = params.get("temperature", 0.8)
        gen: dict[str, Any] = {
            **encoded,
            "max_new_tokens": max_tokens(params, 256 if job.kind == "chat" else 16),
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_Stop()]),
            "do_sample": bool(temperature),
            "pad_token_id": self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
        }
        if constraint is not None:
            gen["logits_processor"] = LogitsProcessorList([constraint])
        if temperature:
            gen["temperature"] = float(temperature)
            for ours, theirs in (("top_p", "top_p"), ("top_k", "top_k"), ("min_p", "min_p")):
                if params.get(ours) is not None:
                    gen[theirs] = params[ours]
        if params.get("repeat_penalty") is not None:
            gen["repetition_penalty"] = float(params["repeat_penalty"])
        if params.get("seed") is not None:
            torch.manual_seed(int(params["seed"]))
        result: dict[str, Any] = {}

        def generate() -> None:
            try:
                with torch.inference_mode():
                    result["ids"] = self._model.generate(**gen)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the reading thread
                result["error"] = exc
                streamer.end()

        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        pieces = _Pieces(job, self.spec.name, stops(params))
        try:
            for text in streamer:
                out = pieces.text(text)
                if out is not None:
                    yield out
                if pieces.stopped:
                    stop_now.set()
                    break
        finally:
            stop_now.set()
            thread.join()
        if "error" in result:
            raise result["error"]
        ids: Any = result.get("ids")
        generated = int(ids.shape[1]) - n_prompt if ids is not None else 0
        ended = generated > 0 and int(ids[0, -1]) in self._eos_ids()
        yield from pieces.finish(generated, n_prompt, max_new=gen["max_new_tokens"], ended=ended)

    def _embed(self, inputs: list[str]) -> Output:
        import torch

        vectors: list[list[float]] = []
        tokens = 0
        for text in inputs:
            encoded = self._tokenizer(text, return_tensors="pt").to(self._device)
            with torch.inference_mode():
                out = self._model(**encoded, output_hidden_states=True)
            hidden = out.hidden_states[-1][0]  # (tokens, width)
            mask = encoded["attention_mask"][0].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(0) / mask.sum().clamp(min=1)
            vectors.append([float(x) for x in pooled.float().cpu().tolist()])
            tokens += int(encoded["input_ids"].shape[1])
        return {"vectors": vectors, "prompt_tokens": tokens}


class _Pieces:
    """Text deltas → OpenAI chunks, cutting at the first stop sequence."""

    def __init__(self, job: Job, model: str, stop: list[str]) -> None:
        self.chat = job.kind == "chat"
        self.model = model
        self.stop = stop
        self.id = ("chatcmpl-" if self.chat else "cmpl-") + uuid.uuid4().hex
        self.created = int(time.time())
        self.sent = ""
        self.stopped = False
        self.started = False

    def _chunk(self, text: str | None, finish: str | None) -> Output:
        if self.chat:
            delta: dict[str, Any] = {} if text is None else {"content": text}
            if not self.started:
                delta["role"] = "assistant"
                self.started = True
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            kind = "chat.completion.chunk"
        else:
            choice = {"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}
            kind = "text_completion"
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }

    def text(self, text: str) -> Output | None:
        if not text or self.stopped:
            return None
        for s in self.stop:
            whole = self.sent + text
            at = whole.find(s)
            if at >= 0:
                self.stopped = True
                text = whole[:at][len(self.sent) :]
                break
        self.sent += text
        return self._chunk(text, None) if text else None

    def finish(
        self, generated: int, prompt: int, *, max_new: int, ended: bool = False
    ) -> Iterator[Output]:
        """``ended``: the model emitted its end token (a stop even at the last token)."""
        cut = generated >= max_new and not (self.stopped or ended)
        reason = "length" if cut else "stop"
        yield self._chunk(None, reason)
        last = self._chunk(None, None)
        last["choices"] = []
        last["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": generated,
            "total_tokens": prompt + generated,
        }
        yield last
