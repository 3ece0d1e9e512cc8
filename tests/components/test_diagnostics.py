"""Diagnostics of every provider's entry: useful, and without secrets."""

from __future__ import annotations

from dataclasses import replace
import json
from unittest.mock import AsyncMock

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.coinhub.const import Provider
from tests.components.conftest import (
    fixture_secrets,
    jsecoin_config_entry,
    setup_entry,
)


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.freeze_time("2026-11-30 12:00:00+00:00")  # income resets at local midnight
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The entry's settings and data, redacted; no secret string anywhere."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    assert diagnostics == snapshot
    text = json.dumps(diagnostics)
    for secret in (*fixture_secrets(), "webmaster", "JohnCB5496"):
        assert secret not in text


async def test_counterparty_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """A transfer's counterparty e-mail address and public key are redacted."""
    client = mock_clients[Provider.JSECOIN]
    history = client.history.return_value
    client.history.return_value = replace(history, entries=history.entries[:2])
    entry = await setup_entry(hass, jsecoin_config_entry())
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    last = diagnostics["data"]["last_transaction"]
    assert last["command"] == "transfer"
    assert last["counterparty_email"] == "**REDACTED**"
    assert last["counterparty_public_key"] == "**REDACTED**"
    text = json.dumps(diagnostics)
    for secret in fixture_secrets():
        assert secret not in text
