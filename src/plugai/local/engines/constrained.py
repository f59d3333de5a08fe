"""JSON-constrained decoding for the transformers engine, through llguidance (the grammar
engine behind the structured output of vLLM, SGLang and llama.cpp): ``response_format`` →
a grammar → a logits processor that masks, at each step, every token the grammar forbids.

Why it always ends: the end token is allowed only once the JSON is complete, and then it is
the only token allowed; whitespace between tokens is fixed (``", "`` and ``": "``), so a
model cannot pad forever; a model that wanders inside a string is cut by ``max_tokens``
(finish_reason ``length``), as on the llama.cpp path.

``strict`` maps to llguidance's leniency: a strict schema with keywords it cannot enforce is
refused (400); a non-strict one is held to what can be enforced, the rest ignored.
"""

from __future__ import annotations

from typing import Any

from plugai.local.engines.base import EngineInputError


def json_target(response_format: dict[str, Any] | None) -> tuple[dict[str, Any], bool] | None:
    """The schema the output must follow and whether it is strict (None: plain text)."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            raise EngineInputError("response_format.json_schema.schema must be an object")
        return schema, bool(spec.get("strict"))
    if kind == "json_object":  # optionally with a schema, as llama-cpp-python allows
        schema = response_format.get("schema")
        if schema is None:
            return {"type": "object"}, True
        if not isinstance(schema, dict):
            raise EngineInputError("response_format.schema must be an object")
        return schema, False
    raise EngineInputError(f"unknown response_format type {kind!r}")


class JsonConstraint:
    """Makes one processor per job for a loaded model. It holds the model's llguidance
    tokenizer, built once and then only read (it is immutable, so jobs on several threads
    may share it); each processor has its own matcher, the only state that changes."""

    def __init__(self, hf_tokenizer: Any, *, n_vocab: int, eos: list[int]) -> None:
        from llguidance.hf import from_tokenizer

        if not eos:
            raise EngineInputError("constrained output needs a model with an end token")
        try:
            self._tokenizer = from_tokenizer(hf_tokenizer, n_vocab=n_vocab, eos_token=eos)
        except ValueError as exc:  # a slow (Python) tokenizer
            raise EngineInputError(f"constrained output is not available: {exc}") from exc

    def processor(self, schema: dict[str, Any], *, strict: bool) -> JsonLogitsProcessor:
        from llguidance import LLMatcher

        try:
            grammar = LLMatcher.grammar_from_json_schema(
                schema,
                # defaults: the schema's own "x-guidance" options may change them
                defaults={
                    "whitespace_flexible": False,
                    "item_separator": ", ",
                    "key_separator": ": ",
                },
                overrides={"lenient": not strict},
            )
        except (ValueError, TypeError) as exc:
            raise EngineInputError(f"cannot constrain output to this JSON schema: {exc}") from exc
        matcher = LLMatcher(self._tokenizer, grammar, log_level=0)
        if matcher.is_error():  # llguidance reports grammar errors as the matcher's state
            raise EngineInputError(
                f"cannot constrain output to this JSON schema: {matcher.get_error()}"
            )
        return JsonLogitsProcessor(matcher)


class JsonLogitsProcessor:
    """A transformers logits processor for one generation (batch of one): feeds the token
    sampled last step to the matcher, then forbids every token the grammar does not allow.
    It runs before temperature and top-k/p (transformers puts custom processors first), so
    sampling only ever picks among allowed tokens."""

    def __init__(self, matcher: Any) -> None:
        self._matcher = matcher
        self._seen: int | None = None  # sequence length at the previous call

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        length = int(input_ids.shape[1])
        sampled = self._seen is not None and length > self._seen
        self._seen = length
        if sampled and not self._matcher.consume_token(int(input_ids[0, -1])):
            raise RuntimeError(f"output left its JSON grammar: {self._matcher.get_error()}")
        allowed = torch.frombuffer(bytearray(self._matcher.compute_logit_bias()), dtype=torch.uint8)
        width = int(scores.shape[-1])
        forbidden = torch.ones(width, dtype=torch.bool)  # ids past the tokenizer's: forbidden
        known = min(width, int(allowed.numel()))
        forbidden[:known] = allowed[:known] == 0
        return scores.masked_fill(forbidden.to(scores.device), float("-inf"))
