"""Shapes shared by several resources."""

from __future__ import annotations

from typing import Literal

from plugai_client.types._base import Model


class Deleted(Model):
    id: str
    object: str
    deleted: Literal[True] = True
