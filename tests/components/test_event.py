"""The JSEcoin transaction event entity."""

from __future__ import annotations

from collections.abc import Generator
from decimal import Decimal
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.coinhub.api.exceptions import CannotConnectError
from custom_components.coinhub.const import Provider
from tests.components.test_coordinator import TRANSACTION, grow, new_entry, poll


@pytest.fixture(autouse=True)
def only_event_platform() -> Generator[None]:
    """Set up the event platform only."""
    with patch("custom_components.coinhub.PLATFORMS", [Platform.EVENT]):
        yield


@pytest.mark.parametrize("provider", [Provider.JSECOIN])
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Every entity of the platform, for each provider, with its state."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_polls_write_only_availability_changes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """A poll without a new entry leaves the state as it was, unless it failed."""
    interval = init_integration.runtime_data.update_interval
    history = mock_jsecoin_client.history.return_value
    grow(mock_jsecoin_client, new_entry(history, "-New", "mining", "0.25"))
    await poll(hass, freezer, interval)
    triggered = hass.states.get(TRANSACTION)
    assert triggered.attributes["event_type"] == "mining"
    reported = triggered.last_reported  # a write of the same state moves it

    # The balance moves (other entities change) but no entry is new.
    mock_jsecoin_client.balances["0"] += Decimal(1)
    await poll(hass, freezer, interval)
    assert hass.states.get(TRANSACTION).last_reported == reported

    read_balance = mock_jsecoin_client.balance.side_effect
    mock_jsecoin_client.balance.side_effect = CannotConnectError("down")
    await poll(hass, freezer, interval)
    assert hass.states.get(TRANSACTION).state == STATE_UNAVAILABLE

    mock_jsecoin_client.balance.side_effect = read_balance
    await poll(hass, freezer, interval)
    recovered = hass.states.get(TRANSACTION)
    assert recovered.state == triggered.state
    assert recovered.attributes == triggered.attributes
