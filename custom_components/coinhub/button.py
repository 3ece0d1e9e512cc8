"""Buttons of CoinHub: run a coinsoftworks action that takes no parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.coinsoftworks import Action
from .const import Provider
from .coordinator import (
    CoinHubConfigEntry,
    CoinHubCoordinator,
    CoinsoftworksCoordinator,
)
from .entity import (
    RUNNABLE_ACTIONS,
    CoinHubEntity,
    CoinHubEntityDescription,
    async_add_coinhub_entities,
)
from .errors import translated_errors

# One press at a time: each press has a side effect on the provider.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class CoinHubButtonEntityDescription[CoordinatorT: CoinHubCoordinator[Any], SourceT](
    ButtonEntityDescription, CoinHubEntityDescription[CoordinatorT, SourceT]
):
    """A CoinHub button: what pressing it does with the entity's source."""

    press_fn: Callable[[CoordinatorT, SourceT], Awaitable[None]]


async def _run_action(coordinator: CoinsoftworksCoordinator, action: Action) -> None:
    """Execute the action once; its execution is followed in the background."""
    await coordinator.async_execute(action, None)


BUTTONS: Final[dict[Provider, tuple[CoinHubButtonEntityDescription[Any, Any], ...]]] = {
    Provider.JSECOIN: (),
    Provider.COINETIZE: (),
    Provider.COINSOFTWORKS: (
        CoinHubButtonEntityDescription[CoinsoftworksCoordinator, Action](
            key="run_action",
            translation_key="run_action",
            collection=RUNNABLE_ACTIONS,
            press_fn=_run_action,
        ),
    ),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CoinHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the buttons of the entry's provider."""
    async_add_coinhub_entities(
        entry,
        async_add_entities,
        BUTTONS[entry.runtime_data.provider],
        CoinHubButtonEntity,
    )


class CoinHubButtonEntity(CoinHubEntity[CoinHubCoordinator[Any]], ButtonEntity):
    """A button that runs something on the provider once per press."""

    entity_description: CoinHubButtonEntityDescription[Any, Any]

    @override
    async def async_press(self) -> None:
        """Run the button's action; a provider error becomes a translated error."""
        async with translated_errors(self.coordinator, self.translation_placeholders):
            await self.entity_description.press_fn(self.coordinator, self.source)
