"""The one interface every local engine implements (text today; image and 3D later).

An engine runs inside its model's worker process, so it may block: ``run`` is a plain
iterator of JSON-ready canonical outputs (OpenAI chat chunks, text-completion chunks, or an
embeddings result). The asynchronous side lives in the gateway, where the worker's pipe is
read (``local/process.py``); an async engine would only add a thread hop per token.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from plugai.core.models import Capabilities, Modality

JobKind = Literal["chat", "completions", "embeddings"]
Output = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What a worker needs to load one model (sent to it as JSON on its command line)."""

    name: str
    path: Path
    engine: str  # registry name of the engine
    n_ctx: int = 4096
    threads: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "engine": self.engine,
            "n_ctx": self.n_ctx,
            "threads": self.threads,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelSpec:
        return cls(
            name=str(data["name"]),
            path=Path(data["path"]),
            engine=str(data["engine"]),
            n_ctx=int(data["n_ctx"]),
            threads=data.get("threads"),
        )


@dataclass(slots=True)
class Job:
    """One request for the engine: chat ``messages``, a completion ``prompt`` or embedding
    ``inputs``, with validated OpenAI-named ``params``."""

    kind: JobKind
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    inputs: list[str] | None = None
    request_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": self.params,
            "messages": self.messages,
            "prompt": self.prompt,
            "inputs": self.inputs,
            "request_id": self.request_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(
            kind=data["kind"],
            params=dict(data.get("params") or {}),
            messages=data.get("messages"),
            prompt=data.get("prompt"),
            inputs=data.get("inputs"),
            request_id=str(data.get("request_id") or ""),
        )


class EngineInputError(ValueError):
    """The request cannot be served as asked (a 400, not a broken worker)."""


class Engine(ABC):
    """One loaded model. Class-level declarations are read in the gateway without loading."""

    name: ClassVar[str]
    modality: ClassVar[Modality] = Modality.TEXT

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @classmethod
    @abstractmethod
    def capabilities(cls, spec: ModelSpec) -> Capabilities: ...

    @classmethod
    @abstractmethod
    def options(cls, operation: str) -> type[BaseModel]:
        """The parameters accepted for ``operation`` (raises KeyError when not offered)."""

    @abstractmethod
    def load(self) -> dict[str, Any]:
        """Load the weights; returns facts for the loaded list (``device``, ``n_ctx``…)."""

    @abstractmethod
    def unload(self) -> None: ...

    @abstractmethod
    def run(self, job: Job, cancelled: Callable[[], bool]) -> Iterator[Output]:
        """Outputs for ``job``; stops early once ``cancelled()`` is true."""
