"""Who is calling: the authenticated user behind an API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    name: str
    role: Role
    key_id: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
