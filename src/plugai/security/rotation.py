"""Master-key rotation: every stored secret re-encrypted under a new key in one transaction."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from sqlalchemy import select

from plugai.db.database import Database
from plugai.db.tables import UserProviderKey
from plugai.security.vault import KEY_FILE, SecretVault, write_private_file


async def rotate_master_key(
    db: Database, old: SecretVault, new_key: bytes, data_dir: Path, *, key_from_env: bool
) -> int:
    """Re-encrypt every secret; then put the new key in place. Returns the count.

    The new key file is written (0600) before the transaction commits and moved over the
    old one only after it, so the database and the key on disk never disagree for long,
    and a failed transaction leaves everything as it was.
    """
    new = SecretVault(new_key)
    staged = data_dir / f".{KEY_FILE}.new"
    if not key_from_env:
        staged.unlink(missing_ok=True)
        write_private_file(staged, base64.urlsafe_b64encode(new_key).decode() + "\n")
    try:
        async with db.session() as s, s.begin():
            rows = (await s.scalars(select(UserProviderKey).with_for_update())).all()
            for row in rows:
                plain = old.decrypt(row.ciphertext, owner=row.user_id, name=row.provider)
                row.ciphertext = new.encrypt(plain, owner=row.user_id, name=row.provider)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    if not key_from_env:
        os.replace(staged, data_dir / KEY_FILE)
    return len(rows)


def new_master_key() -> bytes:
    return secrets.token_bytes(32)
