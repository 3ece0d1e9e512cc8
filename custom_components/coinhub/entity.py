"""Base entity of CoinHub, and how entities of collections come and go.

An entity describes either the account (its device is the account's) or one item of a
collection of the account: a JSEcoin lookup, a Coinetize website (a device of its own)
or a coinsoftworks action. Items appear and disappear while the entry stays loaded, so
platforms add their entities through :func:`async_add_coinhub_entities`, which follows
the coordinator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, override

from homeassistant.core import callback
from homeassistant.helpers import entity_platform, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.coinetize import LinkMethod
from .api.coinsoftworks import Action
from .assist import async_expose_by_default
from .coordinator import (
    CoinetizeCoordinator,
    CoinHubConfigEntry,
    CoinHubCoordinator,
    CoinsoftworksCoordinator,
    JSEcoinCoordinator,
    WebsiteState,
)


def _no_placeholders(key: str, item: object) -> dict[str, str]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Collection[CoordinatorT: CoinHubCoordinator[Any], ItemT]:
    """Items of an account that each get their own entities.

    ``items_fn`` returns the items of the coordinator's data by key (the key ends the
    unique id). ``device_fn`` gives an item a device of its own; without it the
    item's entities are on the account's device.
    """

    items_fn: Callable[[CoordinatorT], Mapping[str, ItemT]]
    placeholders_fn: Callable[[str, ItemT], dict[str, str]] = _no_placeholders
    device_fn: Callable[[CoordinatorT, ItemT], DeviceInfo] | None = None


def _runnable_actions(coordinator: CoinsoftworksCoordinator) -> Mapping[str, Action]:
    """Return the actions a button can run: enabled, without parameters, no wallet.

    A wallet action never gets a button, whatever the options say: anyone who sees a
    button can press it, also by accident on a dashboard. It runs only through
    ``coinhub.execute_action``, once the entry's options allow it.
    """
    return {
        action.action_id: action
        for action in coordinator.data.actions
        if action.enabled and not action.takes_parameters and not action.wallet
    }


LOOKUPS: Final = Collection[JSEcoinCoordinator, Decimal](
    items_fn=lambda coordinator: coordinator.data.lookups,
    placeholders_fn=lambda key, balance: {"lookup": key},
)
WEBSITES: Final = Collection[CoinetizeCoordinator, WebsiteState](
    items_fn=lambda coordinator: coordinator.data.websites,
    device_fn=lambda coordinator, website: coordinator.website_device_info(website),
)
RUNNABLE_ACTIONS: Final = Collection[CoinsoftworksCoordinator, Action](
    items_fn=_runnable_actions,
    placeholders_fn=lambda key, action: {"action": action.action_name},
)


def has_paths(website: WebsiteState) -> bool:
    """Tell whether a website can have paths (proxy and redirect links)."""
    return website.link_method is not LinkMethod.DNS


def _always(source: object) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class CoinHubEntityDescription[CoordinatorT: CoinHubCoordinator[Any], SourceT](
    EntityDescription
):
    """What every CoinHub entity description adds: where its entities live.

    ``SourceT`` is what the entity shows: the coordinator's data for account
    entities, the item for entities of a ``collection``. ``exists_fn`` receives it and
    tells whether it gets the entity. Platform descriptions type their functions with
    it, so each is checked against its provider's data.
    """

    collection: Collection[CoordinatorT, SourceT] | None = None
    exists_fn: Callable[[SourceT], bool] = _always
    exposed_to_assist: bool = False
    """Exposed to Assist when first added, as new entities are: it answers a sentence."""


def unique_id(
    coordinator: CoinHubCoordinator[Any], key: str, item_key: str | None = None
) -> str:
    """Return the unique id of a description's entity for the account or an item."""
    account_entity = f"{coordinator.account_id}_{key}"
    return account_entity if item_key is None else f"{account_entity}_{item_key}"


class CoinHubEntity[CoordinatorT: CoinHubCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity of a CoinHub account, or of one item of the account."""

    _attr_has_entity_name = True
    entity_description: CoinHubEntityDescription[CoordinatorT, Any]

    def __init__(
        self,
        coordinator: CoordinatorT,
        description: CoinHubEntityDescription[CoordinatorT, Any],
        item_key: str | None = None,
    ) -> None:
        """Describe the entity of ``description`` for the account or one item."""
        super().__init__(coordinator)
        self.entity_description = description
        self.item_key = item_key
        self._attr_unique_id = unique_id(coordinator, description.key, item_key)
        self._shown: object = None
        self._attr_device_info = coordinator.account_device_info
        if (collection := description.collection) is not None and item_key:
            item = collection.items_fn(coordinator)[item_key]
            self._attr_translation_placeholders = collection.placeholders_fn(
                item_key, item
            )
            if collection.device_fn is not None:
                self._attr_device_info = collection.device_fn(coordinator, item)

    @override
    async def async_added_to_hass(self) -> None:
        """Expose the entities Assist's sentences read, unless the user decided."""
        await super().async_added_to_hass()
        if self.entity_description.exposed_to_assist:
            async_expose_by_default(self.hass, self.entity_id)
        # The platform writes the state next: that is what is shown from now on.
        self._shown = self._showing()

    def shown(self) -> object:
        """Return what a refresh can change of the state while the entity is available.

        Nothing here: a button's or an event entity's state is written when it is
        pressed or triggered. Platforms whose state follows the data return it.
        """
        return None

    def _showing(self) -> tuple[bool, object]:
        available = self.available
        return available, self.shown() if available else None

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what the entity shows changed.

        A refresh that changes the account's data leaves most of its entities as
        they were (a lookup's balance, a website's paths, a time to the second), and
        writing the same state again costs each of them a full state write.
        """
        if (shown := self._showing()) != self._shown:
            self._shown = shown
            super()._handle_coordinator_update()

    @property
    def source(self) -> Any:
        """Return what the entity shows: the account's data, or its item (if any)."""
        if (collection := self.entity_description.collection) is None:
            return self.coordinator.data
        if self.item_key is None:
            return None
        return collection.items_fn(self.coordinator).get(self.item_key)

    @property
    @override
    def available(self) -> bool:
        """Return whether the data was fetched and the entity's item still exists."""
        return super().available and self.source is not None


@callback
def async_add_coinhub_entities[DescriptionT: CoinHubEntityDescription[Any, Any]](
    entry: CoinHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[DescriptionT],
    entity_factory: Callable[
        [CoinHubCoordinator[Any], DescriptionT, str | None], Entity
    ],
) -> None:
    """Add the account's entities now and each new item's entities when it appears.

    An item that disappears is forgotten, so it gets entities again if it comes back
    (a website linked again after its device was removed). Entities of items gone
    while the entry was not loaded (a lookup removed in the options) are removed.
    """
    coordinator = entry.runtime_data
    descriptions = tuple(descriptions)
    async_add_entities(
        entity_factory(coordinator, description, None)
        for description in descriptions
        if description.collection is None and description.exists_fn(coordinator.data)
    )
    collected = [(d, d.collection) for d in descriptions if d.collection is not None]
    if not collected:
        return
    added: set[tuple[str, str]] = set()

    @callback
    def add_new_items() -> None:
        present: set[tuple[str, str]] = set()
        new_entities: list[Entity] = []
        for description, collection in collected:
            for key, item in collection.items_fn(coordinator).items():
                if not description.exists_fn(item):
                    continue
                present.add((description.key, key))
                if (description.key, key) not in added:
                    new_entities.append(entity_factory(coordinator, description, key))
        added.clear()
        added.update(present)
        if new_entities:
            async_add_entities(new_entities)

    add_new_items()
    entry.async_on_unload(coordinator.async_add_listener(add_new_items))
    _async_remove_stale_item_entities(
        entry,
        stale_prefixes={f"{unique_id(coordinator, d.key)}_" for d, _ in collected},
        current={unique_id(coordinator, key, item) for key, item in added},
    )


@callback
def _async_remove_stale_item_entities(
    entry: CoinHubConfigEntry, *, stale_prefixes: set[str], current: set[str]
) -> None:
    """Remove this platform's registered item entities whose item no longer exists.

    Done once at setup only: an item missing from one poll (a provider glitch) must
    not cost the user the entity's customisations.
    """
    registry = er.async_get(entry.runtime_data.hass)
    platform_domain = entity_platform.async_get_current_platform().domain
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if (
            registered.domain == platform_domain
            and registered.unique_id not in current
            and any(registered.unique_id.startswith(p) for p in stale_prefixes)
        ):
            registry.async_remove(registered.entity_id)
