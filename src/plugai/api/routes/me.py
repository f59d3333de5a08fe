"""The caller's own provider keys and hub tokens."""

from __future__ import annotations

from fastapi import APIRouter

from plugai.api.deps import CurrentUser, ProviderKeysDep, SettingsDep
from plugai.core.errors import NotFound
from plugai.protocol.me import Deleted, ProviderKeyList, ProviderKeyPublic, ProviderKeyPut
from plugai.security.provider_keys import KeyInfo
from plugai.settings import Settings

router = APIRouter(prefix="/v1/me", tags=["me"])
HUB_TOKENS = ("huggingface",)  # tokens for model downloads, even with no such provider


def _known(settings: Settings, provider: str) -> str:
    names = {p.name for p in settings.providers} | set(HUB_TOKENS)
    if provider not in names:
        raise NotFound(
            f"No provider named {provider!r} (known: {', '.join(sorted(names))}).",
            param="provider",
        )
    return provider


def _public(info: KeyInfo) -> ProviderKeyPublic:
    return ProviderKeyPublic(
        provider=info.provider,
        last4=info.last4,
        created_at=info.created_at,
        updated_at=info.updated_at,
        last_used_at=info.last_used_at,
    )


@router.get("/keys", summary="Your stored provider keys (never the keys themselves)")
async def list_keys(me: CurrentUser, keys: ProviderKeysDep) -> ProviderKeyList:
    return ProviderKeyList(data=[_public(k) for k in await keys.list(me.user_id)])


@router.put("/keys/{provider}", summary="Store or replace your key for a provider")
async def put_key(
    provider: str,
    body: ProviderKeyPut,
    me: CurrentUser,
    keys: ProviderKeysDep,
    settings: SettingsDep,
) -> ProviderKeyPublic:
    info = await keys.put(me.user_id, _known(settings, provider), body.api_key.get_secret_value())
    return _public(info)


@router.delete("/keys/{provider}", summary="Forget your key for a provider")
async def delete_key(provider: str, me: CurrentUser, keys: ProviderKeysDep) -> Deleted:
    await keys.delete(me.user_id, provider)
    return Deleted(id=provider, object="provider_key.deleted")
