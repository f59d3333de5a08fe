"""First start: make sure an admin exists and the operator can reach it."""

from __future__ import annotations

import sys
from pathlib import Path

from plugai.security.principal import Role
from plugai.security.users import UserDirectory
from plugai.security.vault import write_private_file

ADMIN_KEY_FILE = "admin.key"
ADMIN_NAME = "admin"


async def ensure_admin(users: UserDirectory, admin_key: str | None, data_dir: Path) -> None:
    """``PLUGAI_ADMIN_KEY`` becomes the admin's key; without it, the first start makes one.

    A generated key is printed once on stdout and saved 0600 in the data dir.
    """
    admin = await users.admin_exists()
    if admin_key:
        if admin is None:
            admin, _ = await users.create_user(ADMIN_NAME, Role.ADMIN, key_name=None)
        await users.adopt_token(admin.id, admin_key, "PLUGAI_ADMIN_KEY")
        return
    if admin is not None:
        return
    _, issued = await users.create_user(ADMIN_NAME, Role.ADMIN, key_name="bootstrap")
    assert issued is not None
    path = data_dir / ADMIN_KEY_FILE
    write_private_file(path, issued.token + "\n", replace=True)
    sys.stdout.write(
        f"PlugAI admin API key (shown once, also saved to {path}):\n  {issued.token}\n"
    )
    sys.stdout.flush()
