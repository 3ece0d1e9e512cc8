"""Buttons that run coinsoftworks actions."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.coinhub.api.coinsoftworks import Action
from custom_components.coinhub.api.exceptions import (
    AuthenticationError,
    OutcomeUnknownError,
    ProviderRefusedError,
    RateLimitedError,
)
from custom_components.coinhub.const import DOMAIN, EVENT_ACTION_FINISHED, Provider
from custom_components.coinhub.coordinator import COINSOFTWORKS_INTERVAL
from tests.components.conftest import CREDENTIALS


@pytest.fixture(autouse=True)
def only_button_platform() -> Generator[None]:
    """Set up the button platform only."""
    with patch("custom_components.coinhub.PLATFORMS", [Platform.BUTTON]):
        yield


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Every entity of the platform, for each provider, with its state."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


CLAIM_BUTTON = "button.coinsoftworks_johncb5496_claim_mining_rewards"


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_press_runs_the_action_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """A press executes the action once and does not wait for it."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    with patch(
        "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_FIRST_DELAY",
        0,
    ):
        await hass.services.async_call(
            BUTTON_DOMAIN,
            SERVICE_PRESS,
            {ATTR_ENTITY_ID: CLAIM_BUTTON},
            blocking=True,
        )
        await hass.async_block_till_done(wait_background_tasks=True)
    mock_coinsoftworks_client.execute_action.assert_awaited_once_with("12", None)
    assert [event.data["status"] for event in events] == ["completed"]


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (AuthenticationError("refused"), "auth_failed"),
        (RateLimitedError("slow down"), "rate_limited"),
        (OutcomeUnknownError("lost"), "outcome_unknown"),
        (ProviderRefusedError("nope"), "provider_refused"),
    ],
)
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_press_errors_translated(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
    error: Exception,
    key: str,
) -> None:
    """A provider error on press is a translated error without secrets."""
    mock_coinsoftworks_client.execute_action.side_effect = error
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            BUTTON_DOMAIN,
            SERVICE_PRESS,
            {ATTR_ENTITY_ID: CLAIM_BUTTON},
            blocking=True,
        )
    assert raised.value.translation_key == key
    assert raised.value.translation_placeholders["action"] == "Claim mining rewards"
    message = str(raised.value)
    assert "coinsoftworks JohnCB5496" in message  # the account it happened to
    for secret in CREDENTIALS:
        assert secret not in message
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert bool(flows) is isinstance(error, AuthenticationError)


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_buttons_follow_the_actions(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """A new runnable action gets a button; a vanished one becomes unavailable."""
    actions = mock_coinsoftworks_client.actions.return_value
    mock_coinsoftworks_client.actions.return_value = (
        *[a for a in actions if a.action_id != "12"],
        Action("77", "Restart rigs", "eMining Action", "Enabled"),
        Action("78", "Rebalance wallet", "eWallet Action", "Enabled"),
    )
    freezer.tick(COINSOFTWORKS_INTERVAL)
    async_fire_time_changed(hass)
    # The poll runs as a background task (and asks its three reads at once).
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("button.coinsoftworks_johncb5496_restart_rigs")
    # A new wallet action gets no button.
    assert hass.states.get("button.coinsoftworks_johncb5496_rebalance_wallet") is None
    claim = hass.states.get(CLAIM_BUTTON)
    assert claim.state == STATE_UNAVAILABLE
