"""Which key a request uses for a provider: the caller's own (when they stored one and the
provider allows it), else the operator's from the config."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from plugai.core.credentials import Credentials
from plugai.core.errors import PermissionDenied
from plugai.providers.base import Provider
from plugai.security.principal import Principal

UserKeyLookup = Callable[[Principal, str], Awaitable[str | None]]


async def _no_user_keys(_principal: Principal, _provider: str) -> str | None:
    return None


class CredentialResolver:
    def __init__(self, user_key: UserKeyLookup = _no_user_keys) -> None:
        self._user_key = user_key

    async def resolve(self, provider: Provider, principal: Principal | None) -> Credentials:
        policy = provider.config.byok
        if principal is not None and policy != "never":
            own = await self._user_key(principal, provider.name)
            if own:
                return Credentials(api_key=own, source="user")
        if policy == "required":
            raise PermissionDenied(
                f"{provider.name} needs your own API key: add it under /v1/me/keys.",
                code="provider_key_required",
            )
        key = provider.config.api_key.get_secret_value() if provider.config.api_key else None
        return Credentials(api_key=key, source="operator")
