"""Event entities of CoinHub: a JSEcoin account's transactions as they happen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.jsecoin import HistoryEntry
from .api.jsecoin.models import (
    COMMAND_EXPORT,
    COMMAND_IMPORT,
    COMMAND_MINING,
    COMMAND_TRANSFER,
)
from .const import Provider
from .coordinator import (
    CoinHubConfigEntry,
    CoinHubCoordinator,
    JSEcoinCoordinator,
    JSEcoinData,
)
from .entity import CoinHubEntity, CoinHubEntityDescription, async_add_coinhub_entities

# Read-only: events come from the coordinator's polls.
PARALLEL_UPDATES = 0

TRANSFER_IN: Final = "transfer_in"
TRANSFER_OUT: Final = "transfer_out"
TRANSACTION_EVENT_TYPES: Final = [
    TRANSFER_IN,
    TRANSFER_OUT,
    COMMAND_MINING,
    COMMAND_IMPORT,
    COMMAND_EXPORT,
]

type Trigger = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, kw_only=True)
class CoinHubEventEntityDescription[CoordinatorT: CoinHubCoordinator[Any], SourceT](
    EventEntityDescription, CoinHubEntityDescription[CoordinatorT, SourceT]
):
    """A CoinHub event entity: how it subscribes to its coordinator's events."""

    listen_fn: Callable[[CoordinatorT, Trigger], CALLBACK_TYPE]


def transaction_event_type(entry: HistoryEntry) -> str | None:
    """Return the event type of a history entry, or ``None`` for unknown commands."""
    if entry.command == COMMAND_TRANSFER:
        return TRANSFER_IN if entry.incoming else TRANSFER_OUT
    if entry.command in TRANSACTION_EVENT_TYPES:
        return entry.command
    return None


def _listen_to_transactions(
    coordinator: JSEcoinCoordinator, trigger: Trigger
) -> CALLBACK_TYPE:
    """Trigger on each new history entry, without e-mail addresses or public keys."""

    @callback
    def on_transaction(entry: HistoryEntry) -> None:
        if (event_type := transaction_event_type(entry)) is not None:
            trigger(
                event_type,
                {
                    "id": entry.id,
                    "value": float(entry.value),
                    "reference": entry.reference,
                    "timestamp": entry.timestamp.isoformat(),
                },
            )

    return coordinator.async_add_transaction_listener(on_transaction)


EVENTS: Final[dict[Provider, tuple[CoinHubEventEntityDescription[Any, Any], ...]]] = {
    Provider.JSECOIN: (
        CoinHubEventEntityDescription[JSEcoinCoordinator, JSEcoinData](
            key="transaction",
            translation_key="transaction",
            event_types=TRANSACTION_EVENT_TYPES,
            listen_fn=_listen_to_transactions,
        ),
    ),
    Provider.COINETIZE: (),
    Provider.COINSOFTWORKS: (),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CoinHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the event entities of the entry's provider."""
    async_add_coinhub_entities(
        entry,
        async_add_entities,
        EVENTS[entry.runtime_data.provider],
        CoinHubEventEntity,
    )


class CoinHubEventEntity(CoinHubEntity[CoinHubCoordinator[Any]], EventEntity):
    """An event entity triggered by its coordinator."""

    entity_description: CoinHubEventEntityDescription[Any, Any]

    @override
    async def async_added_to_hass(self) -> None:
        """Subscribe to the coordinator's events."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.entity_description.listen_fn(self.coordinator, self._async_trigger)
        )

    @callback
    def _async_trigger(self, event_type: str, attributes: dict[str, Any]) -> None:
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
