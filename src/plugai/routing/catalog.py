"""The model catalog behind ``/v1/models``: configured models plus what each provider
reports (cached for a TTL), each as a card with capabilities and a parameter schema.
Cards are persisted in the registry database and refreshed at start-up."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import structlog
from sqlalchemy import delete

from plugai.core.errors import PlugAIError
from plugai.core.models import ModelCard
from plugai.db.database import Database
from plugai.db.tables import ModelCardRow, utcnow
from plugai.providers.base import Provider
from plugai.routing.credentials import CredentialResolver
from plugai.routing.router import Router

log = structlog.get_logger("plugai.catalog")


def card_json(card: ModelCard) -> dict[str, Any]:
    data = dataclasses.asdict(card)
    data["capabilities"] = card.capabilities.as_dict()
    data["input_modalities"] = [str(m) for m in card.input_modalities]
    data["output_modalities"] = [str(m) for m in card.output_modalities]
    return data


class ModelCatalog:
    def __init__(
        self, router: Router, credentials: CredentialResolver, db: Database, ttl: float
    ) -> None:
        self.router = router
        self.credentials = credentials
        self.db = db
        self.ttl = ttl
        self._listed: dict[str, tuple[float, list[ModelCard]]] = {}
        self._built: dict[str, ModelCard] = {}
        self._lock = asyncio.Lock()

    def configured_cards(self) -> list[ModelCard]:
        cards = []
        for route in self.router.configured():
            dep = route.primary
            card = dep.provider.card(dep.model)
            card.id = route.model_id
            card.aliases = self.router.aliases_of(route.model_id)
            card.source = "config"
            if route.context_length:
                card.context_length = route.context_length
            cards.append(card)
        return cards

    async def _provider_cards(self, provider: Provider) -> list[ModelCard]:
        cached = self._listed.get(provider.name)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            creds = await self.credentials.resolve(provider, None)
            cards = await asyncio.wait_for(provider.list_models(creds), timeout=10)
        except (PlugAIError, TimeoutError) as exc:
            log.warning("model_listing_failed", provider=provider.name, error=str(exc))
            cards = cached[1] if cached else []
        self._listed[provider.name] = (time.monotonic(), cards)
        return cards

    async def all(self) -> list[ModelCard]:
        cards = {c.id: c for c in self.configured_cards()}
        listing = [p for p in self.router.providers.values() if p.config.list_models]
        async with self._lock:
            results = await asyncio.gather(*(self._provider_cards(p) for p in listing))
        for provider_cards in results:
            for card in provider_cards:
                cards.setdefault(card.id, card)
        return sorted(cards.values(), key=lambda c: c.id)

    async def get(self, model_id: str) -> ModelCard:
        for card in self.configured_cards():
            if model_id == card.id or model_id in card.aliases:
                return card
        route = self.router.resolve(model_id)  # raises ModelNotFound
        dep = route.primary
        for card in self._listed.get(dep.provider.name, (0.0, []))[1]:
            if card.id == model_id:
                return card
        built = self._built.get(model_id)
        if built is None:  # building a card renders a JSON Schema: do it once per model
            built = self._built[model_id] = dep.provider.card(dep.model)
        return built

    async def persist(self, cards: list[ModelCard]) -> None:
        """Store the cards (replacing earlier ones of the same ids)."""
        if not cards:
            return
        async with self.db.session() as s:
            await s.execute(delete(ModelCardRow).where(ModelCardRow.id.in_([c.id for c in cards])))
            for card in cards:
                s.add(
                    ModelCardRow(
                        id=card.id,
                        provider=card.provider,
                        card=card_json(card),
                        source=card.source,
                        updated_at=utcnow(),
                    )
                )
            await s.commit()

    async def refresh(self) -> None:
        """At start-up: configured cards from the adapters, into the database."""
        await self.persist(self.configured_cards())
