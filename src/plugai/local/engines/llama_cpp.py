"""GGUF models through llama-cpp-python: chat with the chat template carried in the GGUF,
completions, streaming, embeddings and grammar-constrained JSON (``response_format``).

llama-cpp-python already emits OpenAI-shaped chunks, so this engine mostly passes them on;
it adds exact token counts (one sampler call per generated token) and a usage chunk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from plugai.core.models import Capabilities
from plugai.local.engines.base import Engine, EngineInputError, Job, ModelSpec, Output
from plugai.local.options import (
    LocalChatOptions,
    LocalCompletionOptions,
    LocalEmbeddingOptions,
    max_tokens,
    stops,
)

_SAMPLING = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed")
_CHAT_ONLY = ("presence_penalty", "frequency_penalty")
_EMBEDDING_HINTS = ("embed", "bge-", "e5-", "minilm", "gte-")


def is_embedding_model(spec: ModelSpec) -> bool:
    """Embedding-only GGUFs are told apart by name (their architectures are many)."""
    name = spec.name.lower()
    return any(hint in name for hint in _EMBEDDING_HINTS)


class LlamaCppEngine(Engine):
    name = "llama_cpp"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._llm: Any = None
        self._embedder: Any = None
        self._gpu_layers = 0

    # --- declarations -------------------------------------------------------------------
    @classmethod
    def capabilities(cls, spec: ModelSpec) -> Capabilities:
        if is_embedding_model(spec):
            return Capabilities(chat=False, stream=False, embeddings=True)
        return Capabilities(
            chat=True, completions=True, embeddings=True, json_schema=True, json_object=True
        )

    @classmethod
    def options(cls, operation: str, spec: ModelSpec | None = None) -> type[BaseModel]:
        options: dict[str, type[BaseModel]] = {
            "chat": LocalChatOptions,
            "completions": LocalCompletionOptions,
            "embeddings": LocalEmbeddingOptions,
        }
        return options[operation]

    # --- lifecycle ----------------------------------------------------------------------
    def _open(self, *, embedding: bool) -> Any:
        import llama_cpp

        extra: dict[str, Any] = {}
        if embedding:
            extra = {"embedding": True, "pooling_type": llama_cpp.LLAMA_POOLING_TYPE_MEAN}
        return llama_cpp.Llama(
            model_path=str(self.spec.path),
            n_ctx=self.spec.n_ctx,
            n_threads=self.spec.threads,
            n_gpu_layers=self._gpu_layers,
            verbose=False,
            **extra,
        )

    def load(self) -> dict[str, Any]:
        import llama_cpp

        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        self._gpu_layers = -1 if gpu else 0  # every layer on the GPU when there is one
        if is_embedding_model(self.spec):
            self._embedder = self._open(embedding=True)
            n_ctx = self._embedder.n_ctx()
        else:
            self._llm = self._open(embedding=False)
            n_ctx = self._llm.n_ctx()
        return {"device": "cuda" if gpu else "cpu", "n_ctx": n_ctx, "engine": self.name}

    def unload(self) -> None:
        for llm in (self._llm, self._embedder):
            if llm is not None:
                llm.close()
        self._llm = self._embedder = None

    # --- running ------------------------------------------------------------------------
    def run(self, job: Job, cancelled: Callable[[], bool]) -> Iterator[Output]:
        if job.kind == "embeddings":
            yield self._embed(job.inputs or [])
            return
        if self._llm is None:
            raise EngineInputError(f"{self.spec.name} is an embedding model")
        counter = _TokenCounter(cancelled, int(self._llm.token_eos()))
        kwargs = self._sampling(job.params, counter)
        if job.kind == "chat":
            kwargs.update(self._chat_extras(job.params))
            pieces = self._llm.create_chat_completion(
                messages=job.messages or [], stream=True, **kwargs
            )
        else:
            kwargs["max_tokens"] = max_tokens(job.params, 16)
            pieces = self._llm.create_completion(prompt=job.prompt or "", stream=True, **kwargs)
        last: dict[str, Any] | None = None
        finish = None
        try:
            for piece in pieces:
                piece["model"] = self.spec.name
                last = piece
                finish = piece["choices"][0].get("finish_reason") or finish
                yield piece
                if cancelled():
                    return
        finally:
            pieces.close()
        if last is not None:
            yield self._usage(last, counter.count, finish)

    def _usage(self, last: dict[str, Any], sampled: int, finish: str | None) -> Output:
        """The usage chunk. The sampler also ran for the end token when the model stopped by
        itself, and the last sampled token is never evaluated (so not in ``n_tokens``)."""
        completion = max(sampled - (1 if finish == "stop" else 0), 0)
        prompt = max(int(self._llm.n_tokens) - sampled + 1, 0)
        return {
            **{k: last[k] for k in ("id", "object", "created", "model")},
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def _sampling(self, params: dict[str, Any], counter: _TokenCounter) -> dict[str, Any]:
        import llama_cpp

        kwargs: dict[str, Any] = {k: params[k] for k in _SAMPLING if params.get(k) is not None}
        kwargs["max_tokens"] = max_tokens(params, self.spec.n_ctx)
        if params.get("stop"):
            kwargs["stop"] = stops(params)
        if params.get("logit_bias"):
            try:
                bias = {int(k): float(v) for k, v in params["logit_bias"].items()}
            except ValueError as exc:
                raise EngineInputError("logit_bias keys must be token ids") from exc
            counter.set_bias(bias, int(self._llm.n_vocab()))
        # Our processor applies logit_bias itself: llama-cpp-python 0.3 drops both its own
        # logit_bias and any logits_processor when given the two together (list.extend).
        kwargs["logits_processor"] = llama_cpp.LogitsProcessorList([counter])
        return kwargs

    def _chat_extras(self, params: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {k: params[k] for k in _CHAT_ONLY if params.get(k) is not None}
        grammar = _grammar(params.get("response_format"))
        if grammar is not None:
            kwargs["grammar"] = grammar
        return kwargs

    def _embed(self, inputs: list[str]) -> Output:
        if self._embedder is None:  # a chat model embeds through a second, pooled context
            self._embedder = self._open(embedding=True)
        vectors: list[list[float]] = []
        tokens = 0
        for text in inputs:
            tokens += len(self._embedder.tokenize(text.encode("utf-8")))
            vectors.append([float(x) for x in self._embedder.embed(text)])
        return {"vectors": vectors, "prompt_tokens": tokens}


class _TokenCounter:
    """A logits processor: llama.cpp calls it once per sampled token, so it counts them,
    applies ``logit_bias``, and ends a cancelled generation at the next token by leaving
    only the end token possible. (llama-cpp-python may hold text back for many tokens, so a
    check between chunks comes too late; it runs this from a C callback, where raising is
    not an option, and its chat path ignores ``stopping_criteria``.)"""

    def __init__(self, cancelled: Callable[[], bool], eos: int) -> None:
        self.count = 0
        self._bias: tuple[Any, Any] | None = None  # (token ids, biases) as numpy arrays
        self._cancelled = cancelled
        self._eos = eos

    def set_bias(self, bias: dict[int, float], n_vocab: int) -> None:
        import numpy as np

        known = {t: b for t, b in bias.items() if 0 <= t < n_vocab}
        if known:
            ids = np.fromiter(known.keys(), dtype=np.intp)
            self._bias = (ids, np.fromiter(known.values(), dtype=np.float32))

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._cancelled():
            scores[:] = -float("inf")
            scores[self._eos] = 0.0
            return scores
        self.count += 1
        if self._bias is not None:
            scores[self._bias[0]] += self._bias[1]
        return scores


def _grammar(response_format: dict[str, Any] | None) -> Any:
    """A GBNF grammar for ``json_object`` / ``json_schema`` output (None for plain text)."""
    if not response_format:
        return None
    from llama_cpp import llama_grammar

    kind = response_format.get("type")
    schema: Any = None
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise EngineInputError("response_format.json_schema.schema must be an object")
    elif kind == "json_object":
        schema = response_format.get("schema")
    elif kind == "text":
        return None
    else:
        raise EngineInputError(f"unknown response_format type {kind!r}")
    try:
        if schema is None:
            return llama_grammar.LlamaGrammar.from_string(llama_grammar.JSON_GBNF, verbose=False)
        return llama_grammar.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise EngineInputError(f"cannot constrain output to this JSON schema: {exc}") from exc
