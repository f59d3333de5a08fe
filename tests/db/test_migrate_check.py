"""``Database.migrate`` knows a current schema without alembic, and still upgrades an old one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from plugai.db.database import Database, alembic_config, head_revision


def test_head_read_from_the_files_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_an_older_schema_is_upgraded(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0002"))
        await db.migrate()
        async with db.engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert version == head_revision()
        assert "usage_records" in tables  # from a migration after 0002
    finally:
        await db.dispose()


def test_a_current_schema_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'plugai.db'}"
    script = (
        "import asyncio, sys\n"
        "from plugai.db.database import Database\n"
        "async def main():\n"
        f"    db = Database({url!r})\n"
        "    await db.migrate()\n"
        "    await db.dispose()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    run = [sys.executable, "-c", script]
    first = subprocess.run(run, capture_output=True, text=True, check=True, timeout=60)
    again = subprocess.run(run, capture_output=True, text=True, check=True, timeout=60)
    assert first.stdout.split() == ["True"]  # an empty database: alembic migrated it
    assert again.stdout.split() == ["False"]
