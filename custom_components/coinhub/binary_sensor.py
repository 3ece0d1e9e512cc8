"""Binary sensors of CoinHub: whether websites are verified, enterprise mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import Provider
from .coordinator import (
    CoinetizeCoordinator,
    CoinHubConfigEntry,
    CoinHubCoordinator,
    CoinsoftworksCoordinator,
    CoinsoftworksData,
    WebsiteState,
)
from .entity import (
    WEBSITES,
    CoinHubEntity,
    CoinHubEntityDescription,
    async_add_coinhub_entities,
)

# Read-only: the coordinator fetches for every entity at once.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class CoinHubBinarySensorEntityDescription[
    CoordinatorT: CoinHubCoordinator[Any],
    SourceT,
](BinarySensorEntityDescription, CoinHubEntityDescription[CoordinatorT, SourceT]):
    """A CoinHub binary sensor: whether it is on, from the entity's source."""

    is_on_fn: Callable[[SourceT], bool | None]


BINARY_SENSORS: Final[
    dict[Provider, tuple[CoinHubBinarySensorEntityDescription[Any, Any], ...]]
] = {
    Provider.JSECOIN: (),
    Provider.COINETIZE: (
        CoinHubBinarySensorEntityDescription[CoinetizeCoordinator, WebsiteState](
            key="verified",
            translation_key="verified",
            collection=WEBSITES,
            is_on_fn=lambda website: website.verified,
        ),
    ),
    Provider.COINSOFTWORKS: (
        CoinHubBinarySensorEntityDescription[
            CoinsoftworksCoordinator, CoinsoftworksData
        ](
            key="enterprise_mode",
            translation_key="enterprise_mode",
            entity_category=EntityCategory.DIAGNOSTIC,
            is_on_fn=lambda data: data.settings.enterprise_mode,
        ),
    ),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CoinHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the binary sensors of the entry's provider."""
    async_add_coinhub_entities(
        entry,
        async_add_entities,
        BINARY_SENSORS[entry.runtime_data.provider],
        CoinHubBinarySensorEntity,
    )


class CoinHubBinarySensorEntity(
    CoinHubEntity[CoinHubCoordinator[Any]], BinarySensorEntity
):
    """A binary sensor of a CoinHub account or website."""

    entity_description: CoinHubBinarySensorEntityDescription[Any, Any]

    @override
    def shown(self) -> object:
        """Return whether the binary sensor is on."""
        return self.is_on

    @property
    @override
    def is_on(self) -> bool | None:
        """Return whether the binary sensor is on."""
        return self.entity_description.is_on_fn(self.source)
