"""``client.admin``: the admin API (an admin key is needed): ``users`` and ``keys``."""

from __future__ import annotations

from plugai_client._transport import AsyncTransport, SyncTransport
from plugai_client.resources.api_keys import ApiKeys, AsyncApiKeys
from plugai_client.resources.users import AsyncUsers, Users


class Admin:
    def __init__(self, transport: SyncTransport) -> None:
        self.users = Users(transport)
        self.keys = ApiKeys(transport)


class AsyncAdmin:
    def __init__(self, transport: AsyncTransport) -> None:
        self.users = AsyncUsers(transport)
        self.keys = AsyncApiKeys(transport)
