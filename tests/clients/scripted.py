"""A tiny local HTTP server that answers from a script: ``(status, headers, body, delay)``
per request, in order (the last answer repeats). For retry and timeout tests where the
answer must come from something other than PlugAI itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Scripted:
    url: str
    answers: list[Answer]
    times: list[float] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@contextmanager
def scripted_server(*answers: Answer) -> Iterator[Scripted]:
    state = Scripted("", list(answers))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            state.times.append(time.monotonic())
            state.paths.append(self.path)
            answer = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            time.sleep(answer.delay)
            data = json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                for key, value in {"Content-Type": "application/json", **answer.headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
