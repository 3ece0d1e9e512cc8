"""Assist answers "what is my JSEcoin balance" from the balance sensor."""

from __future__ import annotations

from unittest.mock import AsyncMock

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.coinhub.const import Provider
from tests.components.conftest import jsecoin_config_entry, setup_entry


async def test_what_is_my_jsecoin_balance(
    hass: HomeAssistant, mock_clients: dict[Provider, AsyncMock]
) -> None:
    entry = jsecoin_config_entry()
    entry.add_to_hass(hass)
    # The config flow names the first JSEcoin account plainly "JSEcoin".
    hass.config_entries.async_update_entry(entry, title="JSEcoin")
    await setup_entry(hass, entry)
    for component in ("homeassistant", "intent", "conversation"):
        assert await async_setup_component(hass, component, {})
    async_expose_entity(hass, conversation.DOMAIN, "sensor.jsecoin_balance", True)
    balance = hass.states.get("sensor.jsecoin_balance")
    assert balance is not None
    assert balance.name == "JSEcoin Balance"

    result = await conversation.async_converse(
        hass, "what is my JSEcoin balance", None, Context(), None
    )

    assert (
        result.response.response_type
        is conversation.intent.IntentResponseType.QUERY_ANSWER
    )
    assert balance.state in result.response.speech["plain"]["speech"]
