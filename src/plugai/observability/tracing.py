"""W3C trace context: the caller's trace (or a new one) is carried to every upstream call.

The current trace lives in a ContextVar — request-scoped, copied into the tasks a request
spawns (streaming included) — so adapters need not pass it around.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True, slots=True)
class Trace:
    trace_id: str
    flags: str = "01"

    def child(self) -> str:
        """A ``traceparent`` value for one outgoing call (a fresh span id)."""
        return f"00-{self.trace_id}-{secrets.token_hex(8)}-{self.flags}"


CURRENT: ContextVar[Trace | None] = ContextVar("plugai_trace", default=None)


def from_header(value: str | None) -> Trace:
    match = _TRACEPARENT.match(value.strip().lower()) if value else None
    if match and match.group(1) != "0" * 32:
        return Trace(match.group(1), match.group(3))
    return Trace(secrets.token_hex(16))


def outgoing_headers() -> dict[str, str]:
    trace = CURRENT.get()
    return {"traceparent": trace.child()} if trace else {}
