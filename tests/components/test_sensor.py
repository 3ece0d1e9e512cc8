"""Sensors of every provider: balances, blocks, websites' paths and links, plans and actions."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.coinhub.const import CONF_LOOKUPS, Provider
from tests.components.conftest import jsecoin_config_entry, setup_entry


@pytest.fixture(autouse=True)
def only_sensor_platform() -> Generator[None]:
    """Set up the sensor platform only."""
    with patch("custom_components.coinhub.PLATFORMS", [Platform.SENSOR]):
        yield


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.freeze_time("2026-11-30 12:00:00+00:00")  # income resets at local midnight
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Every entity of the platform, for each provider, with its state."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_removed_lookup_entity_is_removed(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """A lookup removed from the options takes its entity with it."""
    entry = await setup_entry(hass, jsecoin_config_entry())
    lookup = "sensor.jsecoin_123_balance_of_mysite_com"
    assert entity_registry.async_get(lookup) is not None
    hass.config_entries.async_update_entry(entry, options={CONF_LOOKUPS: []})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get(lookup) is None
    assert entity_registry.async_get("sensor.jsecoin_123_balance") is not None


async def test_a_refresh_writes_only_the_sensors_it_changed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """A refresh that moves one lookup's balance writes that sensor alone."""
    entry = await setup_entry(hass, jsecoin_config_entry())
    main, lookup = (
        "sensor.jsecoin_123_balance",
        "sensor.jsecoin_123_balance_of_mysite_com",
    )
    # Times, not the states: a write of the same state updates the state in place.
    reported = {e: hass.states.get(e).last_reported for e in (main, lookup)}
    freezer.tick(timedelta(seconds=5))
    client = mock_clients[Provider.JSECOIN]
    client.balances["mysite.com"] += 1
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()

    moved = hass.states.get(lookup)
    assert moved.state == str(client.balances["mysite.com"])
    assert moved.last_reported == moved.last_changed > reported[lookup]
    # Written again, the main balance would show a later report of the same state.
    assert hass.states.get(main).last_reported == reported[main]
