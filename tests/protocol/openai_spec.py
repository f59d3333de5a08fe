"""Validates PlugAI's answers against OpenAI's published OpenAPI document
(``../shared/openai-openapi/openapi.yaml``).

The document says JSON Schema 2020-12 but still uses OpenAPI 3.0's ``nullable: true`` in
places; it is read here as "or null", as OpenAI's own examples need.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[3] / "shared" / "openai-openapi" / "openapi.yaml"
BASE = "urn:openai-openapi"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) is True:
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _registry() -> Registry:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = _nullable(yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader))  # noqa: S506
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource(BASE, resource)


def available() -> bool:
    return SPEC.exists()


def validate(instance: Any, schema_name: str) -> None:
    """Raise ``jsonschema.ValidationError`` when ``instance`` breaks the named schema."""
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{BASE}#/components/schemas/{schema_name}"},
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error
