"""Entities end to end: Home Assistant, the real clients and the sandbox over HTTP.

Each provider's entities take their values from the sandbox, then follow it when it
changes: a JSEcoin transfer arrives and the chain moves on, a coinsoftworks action
finishes, a Coinetize website gains a path. A restart neither repeats nor loses events.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.coinhub.api.coinetize import CoinetizeClient
from custom_components.coinhub.api.jsecoin import JSEcoinClient
from custom_components.coinhub.const import (
    CONF_LOOKUPS,
    EVENT_ACTION_FINISHED,
    EVENT_TRANSACTION,
)
from custom_components.coinhub.coordinator import (
    COINETIZE_INTERVAL,
    COINSOFTWORKS_INTERVAL,
    JSECOIN_BLOCK_INTERVAL,
    jsecoin as jsecoin_coordinator,
)
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BLOCK_SECONDS,
    BOB,
    WEBMASTER,
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
    seed,
)
from tests.conftest import Sandbox

SHOP = seed("coinetize")["websites"][0]

BALANCE = "sensor.jsecoin_123_balance"
LOOKUP = "sensor.jsecoin_123_balance_of_mysite_com"
LAST_TRANSACTION = "sensor.jsecoin_123_last_transaction"
BLOCK = "sensor.jsecoin_123_current_block"
TRANSACTION = "event.jsecoin_123_transaction"


async def poll(hass: HomeAssistant, interval: timedelta) -> None:
    """Run the polls due within ``interval``.

    Time is not frozen here: the sandbox serves real sockets and the clients time
    their requests out on the real clock.
    """
    async_fire_time_changed(hass, dt_util.utcnow() + interval)
    # Scheduled polls run as background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)


def alice_entry(sandbox: Sandbox) -> MockConfigEntry:
    """Return Alice's JSEcoin entry, tracking one of her sites."""
    return jsecoin_entry(sandbox, ALICE, options={CONF_LOOKUPS: ["mysite.com"]})


# JSEcoin


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_jsecoin_entities_follow_the_account(
    hass: HomeAssistant,
    sandbox: Sandbox,
) -> None:
    """Balances, last transaction and block come over HTTP and follow a transfer in."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    entry = await setup_entry(hass, alice_entry(sandbox))
    interval = entry.runtime_data.update_interval
    assert hass.states.get(BALANCE).state == "250.5"
    assert hass.states.get(LOOKUP).state == "12.5"
    first_block = int(hass.states.get(BLOCK).state)
    seeded_last = hass.states.get(LAST_TRANSACTION).state
    assert seeded_last != "unknown"
    assert events == []  # the seeded history is the baseline

    bob = JSEcoinClient(
        async_get_clientsession(hass),
        BOB["api_key"],
        base_url=sandbox.base_url("jsecoin"),
    )
    await bob.transfer(ALICE["email"], Decimal(2), "e2e-entities")
    await poll(hass, interval)

    assert hass.states.get(BALANCE).state == "252.5"
    assert hass.states.get(LAST_TRANSACTION).state != seeded_last
    assert [
        (e.data["command"], e.data["value"], e.data["reference"]) for e in events
    ] == [("transfer", 2.0, "e2e-entities")]
    assert BOB["email"] not in str(events[0].data)
    assert hass.states.get(TRANSACTION).attributes["event_type"] == "transfer_in"

    # The chain moves on; the block id follows on its own cadence.
    await poll(hass, interval)
    assert len(events) == 1
    sandbox.context.clock.advance(10 * BLOCK_SECONDS)
    # The block's cadence passes on Home Assistant's side too.
    later = dt_util.utcnow() + JSECOIN_BLOCK_INTERVAL
    with patch.object(jsecoin_coordinator, "dt_util") as coordinator_clock:
        coordinator_clock.utcnow.return_value = later
        await poll(hass, interval)
    assert int(hass.states.get(BLOCK).state) > first_block


async def test_unchanged_jsecoin_poll_costs_one_request(
    hass: HomeAssistant,
    sandbox: Sandbox,
) -> None:
    """Polling an account that did not move sends only the balance reads."""
    entry = await setup_entry(hass, alice_entry(sandbox))
    before = sandbox.request_count("jsecoin")
    await poll(hass, entry.runtime_data.update_interval)
    assert sandbox.request_count("jsecoin") - before == 2  # main balance and lookup


async def test_jsecoin_restart_neither_repeats_nor_loses(
    hass: HomeAssistant,
    sandbox: Sandbox,
    hass_storage: dict[str, Any],
) -> None:
    """After a restart, announced entries stay announced and new ones are announced."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    entry = await setup_entry(hass, alice_entry(sandbox))
    bob = JSEcoinClient(
        async_get_clientsession(hass),
        BOB["api_key"],
        base_url=sandbox.base_url("jsecoin"),
    )
    await bob.transfer(ALICE["email"], Decimal(1), "before-restart")
    await poll(hass, entry.runtime_data.update_interval)
    assert [e.data["reference"] for e in events] == ["before-restart"]
    last_before = hass.states.get(LAST_TRANSACTION).state

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await setup_entry(hass, entry)
    assert [e.data["reference"] for e in events] == ["before-restart"]
    assert hass.states.get(LAST_TRANSACTION).state == last_before
    assert hass.states.get(BALANCE).state == "251.5"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    sandbox.context.clock.advance(BLOCK_SECONDS)  # Bob's account lock
    await bob.transfer(ALICE["email"], Decimal(1), "while-stopped")
    await setup_entry(hass, entry)
    assert [e.data["reference"] for e in events] == ["before-restart", "while-stopped"]


async def test_jsecoin_mining_reward(
    hass: HomeAssistant,
    sandbox: Sandbox,
) -> None:
    """A mining reward credited by the provider is one mining event."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    entry = await setup_entry(hass, alice_entry(sandbox))
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"})
    await poll(hass, entry.runtime_data.update_interval)
    assert [(e.data["command"], e.data["value"]) for e in events] == [("mining", 0.5)]
    assert hass.states.get(TRANSACTION).attributes["event_type"] == "mining"
    assert Decimal(hass.states.get(BALANCE).state) == Decimal(251)


# coinsoftworks


@pytest.fixture
def quick_monitor() -> Generator[None]:
    """Read executions at short pauses: the sandbox's clock is moved instead."""
    with patch(
        "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_FIRST_DELAY",
        0.01,
    ):
        yield


@pytest.mark.usefixtures("quick_monitor")
async def test_coinsoftworks_entities_and_a_pressed_action(
    hass: HomeAssistant,
    sandbox: Sandbox,
) -> None:
    """Plan, enterprise mode and actions come over HTTP; a press runs to its end."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    entry = await setup_entry(
        hass,
        coinsoftworks_entry(sandbox),
    )
    prefix = "coinsoftworks_johncb5496"
    assert hass.states.get(f"sensor.{prefix}_purchased_plan").state == "Ultimate"
    assert hass.states.get(f"binary_sensor.{prefix}_enterprise_mode").state == "on"
    assert hass.states.get(f"sensor.{prefix}_enabled_actions").state == "3"
    assert hass.states.get(f"sensor.{prefix}_last_action_status").state == "unknown"
    # Send BTC takes parameters and Restart miners is disabled: no buttons.
    assert hass.states.get(f"button.{prefix}_send_btc") is None
    assert hass.states.get(f"button.{prefix}_restart_miners") is None

    await hass.services.async_call(
        BUTTON_DOMAIN,
        SERVICE_PRESS,
        {ATTR_ENTITY_ID: f"button.{prefix}_claim_mining_rewards"},
        blocking=True,
    )
    assert hass.states.get(f"sensor.{prefix}_last_action_status").state == "queued"
    sandbox.context.clock.advance(60)
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get(f"sensor.{prefix}_last_action_status")
    assert state.state == "completed"
    assert state.attributes["action"] == "Claim mining rewards"
    assert [(e.data["action_id"], e.data["status"]) for e in events] == [
        ("12", "completed")
    ]
    assert events[0].data["result"] == {"claimed": "0.00042", "currency": "BTC"}

    # A poll keeps the last execution.
    await poll(hass, COINSOFTWORKS_INTERVAL)
    assert hass.states.get(f"sensor.{prefix}_last_action_status").state == "completed"
    assert entry.runtime_data.last_update_success


# Coinetize


async def test_coinetize_website_follows_the_provider(
    hass: HomeAssistant,
    sandbox: Sandbox,
) -> None:
    """A linked website's state comes over HTTP and follows a new path."""
    website = {
        key: SHOP.get(key)
        for key in (
            "website",
            "link_method",
            "verification_code",
            "link_verification_filename",
            "protocol",
        )
    }
    entry = await setup_entry(
        hass,
        coinetize_entry(
            sandbox,
            websites={
                SHOP["subdomain"]: {**website, "verified": False},
                "site-unknown": {
                    "website": "unknown.example.com",
                    "link_method": "redirect",
                    "verified": False,
                },
            },
        ),
    )
    assert hass.states.get("binary_sensor.shop_example_com_verified").state == "on"
    paths = hass.states.get("sensor.shop_example_com_enabled_paths")
    assert paths.state == "1"
    assert paths.attributes["paths"] == ["/shop"]
    assert hass.states.get("sensor.shop_example_com_link_method").state == "proxy"
    assert hass.states.get("binary_sensor.unknown_example_com_verified").state == "off"

    owner = CoinetizeClient(
        async_get_clientsession(hass),
        WEBMASTER["username"],
        WEBMASTER["auth_token"],
        base_url=sandbox.base_url("coinetize"),
    )
    await owner.add_path(SHOP["subdomain"], "/blog")
    await poll(hass, COINETIZE_INTERVAL)
    paths = hass.states.get("sensor.shop_example_com_enabled_paths")
    assert paths.state == "2"
    assert paths.attributes["paths"] == ["/shop", "/blog"]
    assert entry.runtime_data.last_update_success
