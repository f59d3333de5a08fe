"""Sessions at scale: 10,000 sessions x 50 messages for one user, on SQLite and PostgreSQL.

    .venv/bin/python bench/sessions.py [--sessions 10000] [--messages 50] [--requests 200]
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Measures, through a real PlugAI server (uvicorn, one worker) against a fast fake upstream
(bench/fake_upstream.py): listing a page of sessions, opening a session (with its
messages), and continuing one (a chat turn with ``session_id``: history load, upstream
call, atomic append). Prints p50/p95 in milliseconds per backend. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from plugai.api.app import create_app
from plugai.db.database import Database
from plugai.db.tables import ChatSession, SessionMessage, User
from plugai.settings import load_settings

HERE = Path(__file__).resolve().parent
KEY = "sk-plugai-bench-sessions-0123456789"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(url: str, n_sessions: int, n_messages: int) -> list[str]:
    db = Database(url)
    await db.migrate()
    user_id = "usr_bench"
    base = datetime.now(UTC) - timedelta(days=30)
    ids = [f"sess_{i:06d}{uuid.uuid4().hex[:6]}" for i in range(n_sessions)]
    async with db.session() as s:
        await s.execute(
            insert(User), [{"id": user_id, "name": "bench", "role": "user", "created_at": base}]
        )
        await s.commit()
    batch: list[dict[str, Any]] = []
    async with db.engine.begin() as conn:
        rows = [
            {
                "id": sid,
                "user_id": user_id,
                "title": f"conversation {i}",
                "model": "up/m",
                "system_prompt": None,
                "params": {},
                "meta": {},
                "message_count": n_messages,
                "closed_at": None,
                "created_at": base,
                "updated_at": base + timedelta(seconds=i),
            }
            for i, sid in enumerate(ids)
        ]
        await conn.execute(insert(ChatSession), rows)
        for sid in ids:
            for seq in range(1, n_messages + 1):
                role = "user" if seq % 2 else "assistant"
                batch.append(
                    {
                        "session_id": sid,
                        "seq": seq,
                        "role": role,
                        "content": f"message {seq} of a fairly ordinary length " * 3,
                        "interrupted": False,
                        "created_at": base,
                    }
                )
            if len(batch) >= 20_000:
                await conn.execute(insert(SessionMessage), batch)
                batch = []
        if batch:
            await conn.execute(insert(SessionMessage), batch)
    await db.dispose()
    return ids


class Server:
    def __init__(self, app: Any, port: int) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, port=port, log_config=None, access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def run_backend(name: str, url: str, args: argparse.Namespace, upstream: str) -> list[str]:
    t0 = time.perf_counter()
    ids = asyncio.run(seed(url, args.sessions, args.messages))
    seeded = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            None,
            data_dir=Path(tmp),
            database_url=url,
            admin_key=KEY,
            log={"level": "warning"},
            providers=[{"name": "up", "type": "openai", "base_url": upstream, "api_key": "x"}],
        )
        app = create_app(settings)
        port = free_port()
        with Server(app, port):
            asyncio.run(_token(url))
            headers = {"Authorization": f"Bearer {TOKEN}"}
            rng = random.Random(7)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
                assert c.get("/v1/sessions").status_code == 200
                listing = timed(lambda: c.get("/v1/sessions", params={"limit": 20}), args.requests)
                opening = timed(lambda: c.get(f"/v1/sessions/{rng.choice(ids)}"), args.requests)

                def turn() -> None:
                    r = c.post(
                        "/v1/chat/completions",
                        json={
                            "model": "up/bench-model",
                            "session_id": rng.choice(ids),
                            "messages": [{"role": "user", "content": "one more thing"}],
                        },
                    )
                    assert r.status_code == 200, r.text

                continuing = timed(turn, args.requests)
    rows = []
    for label, xs in (
        ("list a page (20)", listing),
        ("open a session", opening),
        ("continue a session", continuing),
    ):
        q = statistics.quantiles(xs, n=20)
        rows.append(f"| {name} | {label} | {statistics.median(xs):.2f} | {q[18]:.2f} |")
    rows.append(f"| {name} | seeding {args.sessions}x{args.messages} | {seeded:.1f} s | |")
    return rows


TOKEN = ""


async def _token(url: str) -> None:
    """A key for the seeded user (the server bootstrapped its admin already)."""
    global TOKEN
    from plugai.security.users import KeyCache, UserDirectory

    db = Database(url)
    issued = await UserDirectory(db, KeyCache(1)).create_key("usr_bench", "bench")
    TOKEN = issued.token
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "PLUGAI_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    up_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(HERE / "fake_upstream.py"), "--port", str(up_port)]
    )
    rows: list[str] = []
    try:
        time.sleep(0.5)
        with tempfile.TemporaryDirectory() as tmp:
            rows += run_backend(
                "SQLite",
                f"sqlite+aiosqlite:///{tmp}/bench.db",
                args,
                f"http://127.0.0.1:{up_port}/v1",
            )
        pg_name = f"plugai_bench_{uuid.uuid4().hex[:8]}"
        admin = make_url(args.pg)
        asyncio.run(_pg(admin, f'CREATE DATABASE "{pg_name}"'))
        try:
            url = admin.set(database=pg_name).render_as_string(hide_password=False)
            rows += run_backend("PostgreSQL", url, args, f"http://127.0.0.1:{up_port}/v1")
        finally:
            asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    print(f"\nsessions: {args.sessions} x {args.messages} messages, {args.requests} requests each")
    print("| backend | operation | p50 ms | p95 ms |\n|---|---|---|---|")
    print("\n".join(rows))


async def _pg(url: Any, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
