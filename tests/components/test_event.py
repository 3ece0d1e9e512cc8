"""The JSEcoin transaction event entity."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.coinhub.const import Provider


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
