"""UserDirectory on each database backend."""

from __future__ import annotations

import pytest

from plugai.core.errors import AuthenticationFailed, Conflict, NotFound
from plugai.db.database import Database
from plugai.security.principal import Role
from plugai.security.tokens import hash_token
from plugai.security.users import KeyCache, UserDirectory


@pytest.fixture
async def users(database_url: str) -> UserDirectory:
    db = Database(database_url)
    await db.migrate()
    await db.migrate()  # idempotent
    yield UserDirectory(db, KeyCache(ttl=60))  # type: ignore[misc]
    await db.dispose()


async def test_keys_are_stored_only_as_hashes(users: UserDirectory) -> None:
    user, issued = await users.create_user("hash-check", Role.USER)
    assert issued is not None
    (key,) = await users.list_keys(user.id)
    assert key.hash == hash_token(issued.token)
    assert issued.token not in (key.hash, key.prefix)
    principal = await users.authenticate(issued.token)
    assert principal.user_id == user.id and principal.role is Role.USER


async def test_unknown_and_revoked(users: UserDirectory) -> None:
    with pytest.raises(AuthenticationFailed):
        await users.authenticate("sk-plugai-unknown")
    user, issued = await users.create_user("rev", Role.ADMIN)
    assert issued is not None
    await users.authenticate(issued.token)
    await users.revoke_key(user.id, issued.key.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await users.authenticate(issued.token)


async def test_duplicate_and_missing(users: UserDirectory) -> None:
    await users.create_user("dup", Role.USER)
    with pytest.raises(Conflict):
        await users.create_user("dup", Role.USER)
    with pytest.raises(NotFound):
        await users.find_user("ghost")
    with pytest.raises(NotFound):
        await users.revoke_key("usr_x", "key_x")


async def test_adopted_token_is_idempotent(users: UserDirectory) -> None:
    admin, _ = await users.create_user("root", Role.ADMIN, key_name=None)
    await users.adopt_token(admin.id, "sk-plugai-operator-chosen", "env")
    await users.adopt_token(admin.id, "sk-plugai-operator-chosen", "env")
    assert len(await users.list_keys(admin.id)) == 1
    assert (await users.authenticate("sk-plugai-operator-chosen")).is_admin
