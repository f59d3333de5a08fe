"""Users and their API keys: creation, listing, revocation and the cached key check."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from plugai.core.errors import AuthenticationFailed, Conflict, InvalidRequest, NotFound
from plugai.db.database import Database
from plugai.db.tables import ApiKey, User, utcnow
from plugai.security.principal import Principal, Role
from plugai.security.tokens import display_prefix, hash_token, new_id, new_token


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: the only moment its token is known."""

    key: ApiKey
    token: str


class KeyCache:
    """hash → (principal, checked-at), bounded LRU; entries older than ``ttl`` are rechecked.

    The TTL bounds how long a key revoked by another worker keeps working.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Principal, float, float | None]] = OrderedDict()

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        principal, checked_at, expires_at = entry
        now = time.monotonic()
        if now - checked_at > self.ttl or (expires_at is not None and now >= expires_at):
            del self._entries[key_hash]
            return None
        self._entries.move_to_end(key_hash)
        return principal

    def put(self, key_hash: str, principal: Principal, expires_in: float | None) -> None:
        now = time.monotonic()
        self._entries[key_hash] = (principal, now, now + expires_in if expires_in else None)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop_key(self, key_id: str) -> None:
        for h in [h for h, (p, _, _) in self._entries.items() if p.key_id == key_id]:
            del self._entries[h]

    def drop_user(self, user_id: str) -> None:
        for h in [h for h, (p, _, _) in self._entries.items() if p.user_id == user_id]:
            del self._entries[h]


class UserDirectory:
    """Service over the users and api_keys tables. Raises PlugAIError subclasses."""

    def __init__(self, db: Database, cache: KeyCache) -> None:
        self.db = db
        self.cache = cache

    async def authenticate(self, token: str) -> Principal:
        key_hash = hash_token(token)
        cached = self.cache.get(key_hash)
        if cached is not None:
            return cached
        async with self.db.session() as s:
            row = (
                await s.execute(
                    select(ApiKey, User)
                    .join(User, User.id == ApiKey.user_id)
                    .where(ApiKey.hash == key_hash)
                )
            ).first()
        now = utcnow()
        if row is None:
            raise AuthenticationFailed("Incorrect API key provided.")
        key, user = row
        if key.revoked_at is not None:
            raise AuthenticationFailed("This API key has been revoked.")
        if key.expires_at is not None and key.expires_at <= now:
            raise AuthenticationFailed("This API key has expired.")
        if user.disabled_at is not None:
            raise AuthenticationFailed("This user is disabled.")
        principal = Principal(user_id=user.id, name=user.name, role=Role(user.role), key_id=key.id)
        expires_in = (key.expires_at - now).total_seconds() if key.expires_at else None
        self.cache.put(key_hash, principal, expires_in)
        return principal

    async def create_user(
        self, name: str, role: Role, *, key_name: str | None = "default"
    ) -> tuple[User, IssuedKey | None]:
        """Create a user and, unless ``key_name`` is None, its first API key."""
        name = name.strip()
        if not name:
            raise InvalidRequest("A user needs a name.", param="name")
        user = User(id=new_id("usr"), name=name, role=role.value, created_at=utcnow())
        async with self.db.session() as s:
            s.add(user)
            try:
                await s.flush()
            except IntegrityError as exc:
                raise Conflict(f"A user named {name!r} already exists.", param="name") from exc
            issued = self._new_key(user.id, key_name, None) if key_name is not None else None
            if issued is not None:
                s.add(issued.key)
            await s.commit()
        return user, issued

    async def list_users(self) -> list[User]:
        async with self.db.session() as s:
            return list((await s.scalars(select(User).order_by(User.created_at, User.id))).all())

    async def get_user(self, user_id: str) -> User:
        async with self.db.session() as s:
            user = await s.get(User, user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id!r}.", param="user_id")
        return user

    async def find_user(self, name_or_id: str) -> User:
        async with self.db.session() as s:
            user = await s.scalar(
                select(User).where((User.id == name_or_id) | (User.name == name_or_id))
            )
        if user is None:
            raise NotFound(f"No user named or with id {name_or_id!r}.")
        return user

    async def create_key(
        self, user_id: str, name: str = "default", expires_at: datetime | None = None
    ) -> IssuedKey:
        await self.get_user(user_id)
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidRequest("expires_at must be in the future.", param="expires_at")
        issued = self._new_key(user_id, name, expires_at)
        async with self.db.session() as s:
            s.add(issued.key)
            await s.commit()
        return issued

    async def adopt_token(self, user_id: str, token: str, name: str) -> None:
        """Register a token chosen by the operator (``PLUGAI_ADMIN_KEY``) unless known already."""
        key_hash = hash_token(token)
        async with self.db.session() as s:
            existing = await s.scalar(select(ApiKey).where(ApiKey.hash == key_hash))
            if existing is not None:
                if existing.user_id != user_id or existing.revoked_at is not None:
                    existing.user_id, existing.revoked_at = user_id, None
                    await s.commit()
                return
            s.add(
                ApiKey(
                    id=new_id("key"),
                    user_id=user_id,
                    name=name,
                    prefix=display_prefix(token),
                    hash=key_hash,
                    created_at=utcnow(),
                )
            )
            await s.commit()

    async def list_keys(self, user_id: str) -> list[ApiKey]:
        await self.get_user(user_id)
        async with self.db.session() as s:
            rows = await s.scalars(
                select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at)
            )
            return list(rows.all())

    async def revoke_key(self, user_id: str, key_id: str) -> ApiKey:
        async with self.db.session() as s:
            key = await s.get(ApiKey, key_id)
            if key is None or key.user_id != user_id:
                raise NotFound(f"No key {key_id!r} for user {user_id!r}.", param="key_id")
            if key.revoked_at is None:
                key.revoked_at = utcnow()
                await s.commit()
        self.cache.drop_key(key_id)
        return key

    async def admin_exists(self) -> User | None:
        async with self.db.session() as s:
            return await s.scalar(
                select(User).where(User.role == Role.ADMIN.value).order_by(User.created_at).limit(1)
            )

    async def disable_user(self, user_id: str) -> None:
        async with self.db.session() as s:
            result = await s.execute(
                update(User).where(User.id == user_id).values(disabled_at=utcnow())
            )
            await s.commit()
        if not getattr(result, "rowcount", 0):
            raise NotFound(f"No user with id {user_id!r}.", param="user_id")
        self.cache.drop_user(user_id)

    @staticmethod
    def _new_key(user_id: str, name: str, expires_at: datetime | None) -> IssuedKey:
        token = new_token()
        key = ApiKey(
            id=new_id("key"),
            user_id=user_id,
            name=name,
            prefix=display_prefix(token),
            hash=hash_token(token),
            created_at=utcnow(),
            expires_at=expires_at,
        )
        return IssuedKey(key=key, token=token)
