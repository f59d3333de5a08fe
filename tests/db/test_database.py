"""Migrations and engine set-up on each backend."""

from __future__ import annotations

from sqlalchemy import inspect, text

from plugai.db.database import Database


async def test_migrate_creates_schema_and_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        await db.migrate()
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert {"users", "api_keys", "alembic_version"} <= tables
        assert version is not None
        assert await db.ping()
    finally:
        await db.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/x/wal.db")
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.dispose()


async def test_migrations_match_the_models(database_url: str) -> None:
    """Every table, column and index of ``tables.py`` is what the migrations create."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from plugai.db.tables import Base

    db = Database(database_url)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
        assert diff == [], diff
    finally:
        await db.dispose()
