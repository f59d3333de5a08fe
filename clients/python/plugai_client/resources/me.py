"""``client.me()``: who the API key belongs to; ``client.me.keys``: the caller's own
provider keys (write-only: only the last 4 characters come back).

    print(client.me().name)
    client.me.keys.put("openai", "sk-…")   # your own key for the openai provider
"""

from __future__ import annotations

from plugai_client._transport import AsyncTransport, SyncTransport
from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.common import Deleted
from plugai_client.types.keys import ProviderKey, ProviderKeyList
from plugai_client.types.users import Me as MeInfo

KEYS = "/v1/me/keys"


class ProviderKeys(SyncResource):
    def list(self) -> list[ProviderKey]:
        """Your stored provider keys (never the keys themselves)."""
        return ProviderKeyList.model_validate(self._t.json("GET", KEYS)).data

    def put(self, provider: str, api_key: str) -> ProviderKey:
        """Store or replace your key for ``provider`` (a configured provider's name)."""
        body = {"api_key": api_key}
        return ProviderKey.model_validate(
            self._t.json("PUT", f"{KEYS}/{segment(provider)}", body=body)
        )

    def delete(self, provider: str) -> Deleted:
        """Forget your key for ``provider``."""
        return Deleted.model_validate(self._t.json("DELETE", f"{KEYS}/{segment(provider)}"))


class AsyncProviderKeys(AsyncResource):
    async def list(self) -> list[ProviderKey]:
        return ProviderKeyList.model_validate(await self._t.json("GET", KEYS)).data

    async def put(self, provider: str, api_key: str) -> ProviderKey:
        body = {"api_key": api_key}
        return ProviderKey.model_validate(
            await self._t.json("PUT", f"{KEYS}/{segment(provider)}", body=body)
        )

    async def delete(self, provider: str) -> Deleted:
        return Deleted.model_validate(await self._t.json("DELETE", f"{KEYS}/{segment(provider)}"))


class Me(SyncResource):
    """Call it for the caller's identity; ``.keys`` manages their provider keys."""

    def __init__(self, transport: SyncTransport) -> None:
        super().__init__(transport)
        self.keys = ProviderKeys(transport)

    def __call__(self) -> MeInfo:
        return MeInfo.model_validate(self._t.json("GET", "/v1/me"))


class AsyncMe(AsyncResource):
    def __init__(self, transport: AsyncTransport) -> None:
        super().__init__(transport)
        self.keys = AsyncProviderKeys(transport)

    async def __call__(self) -> MeInfo:
        return MeInfo.model_validate(await self._t.json("GET", "/v1/me"))
