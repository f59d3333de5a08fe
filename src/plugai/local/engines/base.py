"""The one interface every local engine implements: text, embeddings, images and 3D.

An engine runs inside its model's worker process, so it may block: ``run`` is a plain
iterator of JSON-ready canonical outputs (OpenAI chat chunks, text-completion chunks, or an
embeddings result). The asynchronous side lives in the gateway, where the worker's pipe is
read (``local/process.py``); an async engine would only add a thread hop per token.

Image and 3D jobs yield progress and files rather than bytes on the pipe:
- ``{"type": "progress", "step": i, "steps": n}`` — i counts 1..n over the whole job;
- ``{"type": "file", "path": "<in job.output_dir>", "kind": "image" | "mesh" | "preview",
  "mime": "...", "meta": {...}}`` — written completely (temp name, then ``os.replace``)
  before it is announced. ``meta`` holds ``width``/``height``/``seed`` for images and
  ``format``/``vertices``/``faces`` for meshes. The gateway adopts announced files into the
  artifact store; files never announced are deleted with the staging folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from plugai.core.models import Capabilities, Modality

JobKind = Literal["chat", "completions", "embeddings", "images", "3d"]
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
    ``inputs``, with validated OpenAI-named ``params``. Image and 3D jobs take a ``prompt``
    and/or an input ``image`` (a file path the gateway wrote) and write their outputs into
    ``output_dir`` (a staging folder the gateway made for this job)."""

    kind: JobKind
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    inputs: list[str] | None = None
    request_id: str = ""
    image: str | None = None
    output_dir: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": self.params,
            "messages": self.messages,
            "prompt": self.prompt,
            "inputs": self.inputs,
            "request_id": self.request_id,
            "image": self.image,
            "output_dir": self.output_dir,
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
            image=data.get("image"),
            output_dir=data.get("output_dir"),
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
    def options(cls, operation: str, spec: ModelSpec | None = None) -> type[BaseModel]:
        """The parameters accepted for ``operation`` (raises KeyError when not offered).
        ``spec`` lets an engine read bounds from the model's files (cheap reads only)."""

    @abstractmethod
    def load(self) -> dict[str, Any]:
        """Load the weights; returns facts for the loaded list (``device``, ``n_ctx``…)."""

    @abstractmethod
    def unload(self) -> None: ...

    @abstractmethod
    def run(self, job: Job, cancelled: Callable[[], bool]) -> Iterator[Output]:
        """Outputs for ``job``; stops early once ``cancelled()`` is true."""

    def serve(
        self, job: Job, cancelled: Callable[[], bool], emit: Callable[[Output], None]
    ) -> None:
        """Run ``job`` on the calling thread, handing each output to ``emit`` as it comes
        (how a worker runs jobs). Engines whose work reports through callbacks override it
        so that they need no thread of their own (see ``generation.PipelineEngine``)."""
        for item in self.run(job, cancelled):
            if cancelled():
                return
            emit(item)
