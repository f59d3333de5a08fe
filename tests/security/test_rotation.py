"""`plugai admin rotate-master-key`: old ciphertexts gone, every key still readable."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from plugai.cli import main
from plugai.db.database import Database
from plugai.db.tables import UserProviderKey
from plugai.security.provider_keys import ProviderKeyStore
from plugai.security.vault import SecretVault, load_master_key
from plugai.settings import load_settings


async def _store(data: Path, url: str) -> tuple[Database, ProviderKeyStore]:
    db = Database(url)
    await db.migrate()
    return db, ProviderKeyStore(db, SecretVault(load_master_key(None, data)))


def test_rotation_reencrypts_everything(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    env = {"PLUGAI_DATABASE_URL": database_url}

    async def seed() -> tuple[list[bytes], bytes]:
        db, store = await _store(data, database_url)
        from plugai.security.principal import Role
        from plugai.security.users import KeyCache, UserDirectory

        alice, _ = await UserDirectory(db, KeyCache(1)).create_user("alice", Role.USER)
        await store.put(alice.id, "openai", "sk-alice-openai-0001")
        await store.put(alice.id, "huggingface", "hf_alice_token_0002")
        async with db.session() as s:
            blobs = [r.ciphertext for r in (await s.scalars(select(UserProviderKey))).all()]
        await db.dispose()
        return blobs, (data / "master.key").read_bytes()

    old_blobs, old_key_file = asyncio.run(seed())
    rotated = runner.invoke(main, ["admin", "rotate-master-key", "--data-dir", str(data)], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 2 secret(s)" in rotated.output
    assert (data / "master.key").read_bytes() != old_key_file
    assert not list(data.glob(".master.key*"))

    async def check() -> None:
        db, store = await _store(data, database_url)
        async with db.session() as s:
            rows = (await s.scalars(select(UserProviderKey))).all()
        assert not {r.ciphertext for r in rows} & set(old_blobs)
        from plugai.security.principal import Principal, Role

        alice = Principal(user_id=rows[0].user_id, name="alice", role=Role.USER, key_id="k")
        assert await store.lookup(alice, "openai") == "sk-alice-openai-0001"
        assert await store.lookup(alice, "huggingface") == "hf_alice_token_0002"
        await db.dispose()

    asyncio.run(check())
    assert load_settings(None, data_dir=data).master_key is None
