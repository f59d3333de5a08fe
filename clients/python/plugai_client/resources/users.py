"""``client.admin.users`` (admin key): create, list, get and disable users.

created = client.admin.users.create("alice")
print(created.id, created.api_key)   # the key is shown only once
"""

from __future__ import annotations

import builtins
from typing import Literal

from plugai_client.errors import APIStatusError, NotFoundError
from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.users import User, UserCreated, UserList

ROOT = "/v1/admin/users"
Role = Literal["admin", "user"]


def _match(users: builtins.list[User], name_or_id: str) -> User:
    for user in users:
        if name_or_id in (user.id, user.name):
            return user
    raise NotFoundError(f"No user named {name_or_id!r}.", status=404, code="not_found")


class Users(SyncResource):
    def create(self, name: str, *, role: Role = "user") -> UserCreated:
        """A new user with a first API key (``.api_key``, shown only here)."""
        body = {"name": name, "role": role}
        return UserCreated.model_validate(self._t.json("POST", ROOT, body=body))

    def list(self) -> builtins.list[User]:
        return UserList.model_validate(self._t.json("GET", ROOT)).data

    def get(self, user_id: str) -> User:
        return User.model_validate(self._t.json("GET", f"{ROOT}/{segment(user_id)}"))

    def find(self, name_or_id: str) -> User:
        """The user with this id or name (``NotFoundError`` when none)."""
        try:
            return self.get(name_or_id)
        except APIStatusError as exc:
            if exc.status not in (400, 404):
                raise
        return _match(self.list(), name_or_id)

    def disable(self, user_id: str) -> User:
        """Disable the user: their keys stop working."""
        return User.model_validate(self._t.json("DELETE", f"{ROOT}/{segment(user_id)}"))


class AsyncUsers(AsyncResource):
    async def create(self, name: str, *, role: Role = "user") -> UserCreated:
        body = {"name": name, "role": role}
        return UserCreated.model_validate(await self._t.json("POST", ROOT, body=body))

    async def list(self) -> builtins.list[User]:
        return UserList.model_validate(await self._t.json("GET", ROOT)).data

    async def get(self, user_id: str) -> User:
        return User.model_validate(await self._t.json("GET", f"{ROOT}/{segment(user_id)}"))

    async def find(self, name_or_id: str) -> User:
        try:
            return await self.get(name_or_id)
        except APIStatusError as exc:
            if exc.status not in (400, 404):
                raise
        return _match(await self.list(), name_or_id)

    async def disable(self, user_id: str) -> User:
        return User.model_validate(await self._t.json("DELETE", f"{ROOT}/{segment(user_id)}"))
