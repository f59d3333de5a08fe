"""Admin API: users and their API keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from plugai.api.deps import AdminUser, CurrentUser, UsersDep
from plugai.db.tables import ApiKey, User
from plugai.protocol.admin import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    ListOf,
    Me,
    UserCreate,
    UserCreated,
    UserPublic,
)
from plugai.security.principal import Role

router = APIRouter(prefix="/v1", tags=["admin"])


def _user(u: User) -> UserPublic:
    return UserPublic(
        id=u.id,
        name=u.name,
        role=Role(u.role).value,
        created_at=u.created_at,
        disabled=u.disabled_at is not None,
    )


def _key(k: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=k.id,
        user_id=k.user_id,
        name=k.name,
        prefix=k.prefix,
        created_at=k.created_at,
        expires_at=k.expires_at,
        revoked_at=k.revoked_at,
    )


@router.get("/me", tags=["me"], summary="Who the API key belongs to")
async def me(principal: CurrentUser) -> Me:
    return Me(
        id=principal.user_id,
        name=principal.name,
        role=principal.role.value,
        key_id=principal.key_id,
    )


@router.post("/admin/users", status_code=status.HTTP_201_CREATED, summary="Create a user")
async def create_user(body: UserCreate, users: UsersDep, _: AdminUser) -> UserCreated:
    user, issued = await users.create_user(body.name, Role(body.role))
    assert issued is not None
    return UserCreated(**_user(user).model_dump(), api_key=issued.token, key=_key(issued.key))


@router.get("/admin/users", summary="List users")
async def list_users(users: UsersDep, _: AdminUser) -> ListOf[UserPublic]:
    return ListOf[UserPublic](data=[_user(u) for u in await users.list_users()])


@router.get("/admin/users/{user_id}", summary="Get a user")
async def get_user(user_id: str, users: UsersDep, _: AdminUser) -> UserPublic:
    return _user(await users.get_user(user_id))


@router.delete("/admin/users/{user_id}", summary="Disable a user (their keys stop working)")
async def disable_user(user_id: str, users: UsersDep, _: AdminUser) -> UserPublic:
    await users.disable_user(user_id)
    return _user(await users.get_user(user_id))


@router.get("/admin/users/{user_id}/keys", summary="List a user's API keys")
async def list_keys(user_id: str, users: UsersDep, _: AdminUser) -> ListOf[ApiKeyPublic]:
    return ListOf[ApiKeyPublic](data=[_key(k) for k in await users.list_keys(user_id)])


@router.post(
    "/admin/users/{user_id}/keys", status_code=status.HTTP_201_CREATED, summary="Create an API key"
)
async def create_key(
    user_id: str, body: ApiKeyCreate, users: UsersDep, _: AdminUser
) -> ApiKeyIssued:
    issued = await users.create_key(user_id, body.name, body.expires_at)
    return ApiKeyIssued(**_key(issued.key).model_dump(), api_key=issued.token)


@router.delete("/admin/users/{user_id}/keys/{key_id}", summary="Revoke an API key")
async def revoke_key(user_id: str, key_id: str, users: UsersDep, _: AdminUser) -> ApiKeyPublic:
    return _key(await users.revoke_key(user_id, key_id))
