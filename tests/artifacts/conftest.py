"""A migrated database with two users, and a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from plugai.db.database import Database
from plugai.security.principal import Role
from plugai.security.users import KeyCache, UserDirectory


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
async def users(db: Database) -> tuple[str, str]:
    """Ids of two users, ann and bob."""
    directory = UserDirectory(db, KeyCache(0))
    ann, _ = await directory.create_user("ann", Role.USER, key_name=None)
    bob, _ = await directory.create_user("bob", Role.USER, key_name=None)
    return ann.id, bob.id
