"""Base of the response models: unknown fields are kept, not rejected, so a newer server
does not break an older client (``tests/clients/test_schema.py`` catches real drift)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())
