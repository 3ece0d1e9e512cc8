"""JSEcoin income end to end: the sandbox's account moves, the income sensors follow.

Income is what the balance gained that transfers, imports and exports do not explain.
Every scenario runs twice, with the sandbox listing mining rewards in the history and
without: the figures must be the same.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.coinhub import income as income_module
from custom_components.coinhub.api.jsecoin import JSEcoinClient
from custom_components.coinhub.const import EVENT_INCOME
from tests.components.conftest import restart_home_assistant, setup_entry
from tests.components.sandbox_entries import ALICE, BLOCK_SECONDS, BOB, jsecoin_entry
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

INCOME_TODAY = "sensor.jsecoin_123_income_today"
INCOME_WEEK = "sensor.jsecoin_123_income_last_7_days"


@pytest.fixture(params=[True, False], ids=["mining_listed", "mining_not_listed"])
async def mining_in_history(request: pytest.FixtureRequest, sandbox: Sandbox) -> bool:
    """Whether the sandbox writes mining rewards into the history."""
    enabled: bool = request.param
    await sandbox.admin("POST", "/jsecoin/mining_in_history", {"enabled": enabled})
    return enabled


def client(
    hass: HomeAssistant, sandbox: Sandbox, account: dict[str, Any]
) -> JSEcoinClient:
    """Return a client of a sandbox account, acting outside Home Assistant."""
    return JSEcoinClient(
        async_get_clientsession(hass),
        account["api_key"],
        base_url=sandbox.base_url("jsecoin"),
    )


async def mine(sandbox: Sandbox, value: str) -> None:
    """Credit Alice a mining reward."""
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": value})


def income(hass: HomeAssistant) -> tuple[Decimal, Decimal]:
    """Return the income sensors' states: today, last 7 days."""
    return (
        Decimal(hass.states.get(INCOME_TODAY).state),
        Decimal(hass.states.get(INCOME_WEEK).state),
    )


async def test_income_is_a_mining_reward_not_a_transfer_or_import(
    hass: HomeAssistant, sandbox: Sandbox, mining_in_history: bool
) -> None:
    """A reward is income; money sent, received or imported is not; nothing twice."""
    events = async_capture_events(hass, EVENT_INCOME)
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    interval = entry.runtime_data.update_interval
    assert income(hass) == (0, 0)  # the first balance is the starting point
    state = hass.states.get(INCOME_TODAY)
    assert state.attributes["state_class"] == "total"
    assert state.attributes["unit_of_measurement"] == "JSE"
    assert dt_util.parse_datetime(state.attributes["last_reset"]) == (
        dt_util.start_of_local_day()
    )

    await mine(sandbox, "0.5")
    await poll(hass, interval)
    assert income(hass) == (Decimal("0.5"), Decimal("0.5"))
    assert [e.data["value"] for e in events] == [0.5]

    alice, bob = client(hass, sandbox, ALICE), client(hass, sandbox, BOB)
    await alice.transfer(BOB["email"], Decimal(3), "rent")  # sent: not income
    await poll(hass, interval)
    await bob.transfer(ALICE["email"], Decimal(2), "refund")  # received: not income
    await poll(hass, interval)
    sandbox.context.clock.advance(BLOCK_SECONDS)  # Bob's write lock
    code = (await bob.export_coins(Decimal(4))).coin_code
    await alice.import_coins(code)  # imported: not income
    await poll(hass, interval)
    assert income(hass) == (Decimal("0.5"), Decimal("0.5"))

    # A reward and a transfer in the same poll: only the reward is income.
    await mine(sandbox, "0.25")
    sandbox.context.clock.advance(BLOCK_SECONDS)
    await bob.transfer(ALICE["email"], Decimal(1), "tip")
    await poll(hass, interval)
    assert income(hass) == (Decimal("0.75"), Decimal("0.75"))
    assert [e.data["value"] for e in events] == [0.5, 0.25]
    assert (
        Decimal(hass.states.get("sensor.jsecoin_123_balance").state)
        == Decimal("250.5") + Decimal("0.75") - 3 + 2 + 4 + 1
    )


async def test_transfer_through_coinhub_waits_for_the_balance(
    hass: HomeAssistant, sandbox: Sandbox, mining_in_history: bool
) -> None:
    """A transfer CoinHub makes is announced before the balance shows it: no income."""
    entry = await setup_entry(
        hass,
        jsecoin_entry(
            sandbox,
            ALICE,
            options={
                "lookups": [],
                "allow_transfers": True,
                "max_transfer_amount": 100.0,
                "daily_transfer_limit": 500.0,
            },
        ),
    )
    await hass.services.async_call(
        "coinhub",
        "transfer",
        {
            "config_entry_id": entry.entry_id,
            "recipient": BOB["email"],
            "amount": 5,
            "reference": "through-coinhub",
        },
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()
    assert income(hass) == (0, 0)
    # Reloaded before a poll saw the balance drop: the transfer is still explained.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert income(hass) == (0, 0)
    await poll(hass, entry.runtime_data.update_interval)
    assert income(hass) == (0, 0)
    await mine(sandbox, "1")
    await poll(hass, entry.runtime_data.update_interval)
    assert income(hass) == (1, 1)


async def test_income_survives_a_restart(
    hass: HomeAssistant, sandbox: Sandbox, mining_in_history: bool
) -> None:
    """A restart mid-day keeps today's income; what came while stopped counts once."""
    entry: MockConfigEntry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await mine(sandbox, "0.5")
    await poll(hass, entry.runtime_data.update_interval)
    assert income(hass) == (Decimal("0.5"), Decimal("0.5"))

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await setup_entry(hass, entry)
    assert income(hass) == (Decimal("0.5"), Decimal("0.5"))

    await restart_home_assistant(hass, entry)  # only what is on disk is known
    await mine(sandbox, "0.25")  # while stopped
    await client(hass, sandbox, BOB).transfer(ALICE["email"], Decimal(2), "away")
    await setup_entry(hass, entry)
    assert income(hass) == (Decimal("0.75"), Decimal("0.75"))
    await poll(hass, entry.runtime_data.update_interval)
    assert income(hass) == (Decimal("0.75"), Decimal("0.75"))


async def test_income_resets_at_midnight_and_leaves_the_window(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Today's income starts again each day; the last 7 days keep a week of it."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    interval = entry.runtime_data.update_interval
    await mine(sandbox, "0.5")
    await poll(hass, interval)

    start = dt_util.now()
    for days, expected_week in ((1, "0.5"), (6, "0.5"), (7, "0.25")):
        with patch.object(income_module, "dt_util") as clock:
            clock.now.return_value = start + timedelta(days=days)
            clock.start_of_local_day = dt_util.start_of_local_day
            if days == 1:
                await mine(sandbox, "0.25")
            await poll(hass, interval)
        today, week = income(hass)
        assert today == (Decimal("0.25") if days == 1 else 0)
        assert week == Decimal(expected_week) + (Decimal("0.25") if days < 7 else 0)
        last_reset = hass.states.get(INCOME_TODAY).attributes["last_reset"]
        assert dt_util.parse_datetime(last_reset) == dt_util.start_of_local_day(
            (start + timedelta(days=days)).date()
        )


async def test_a_drop_no_entry_explains_is_held_back(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A balance that drops without an entry is not negative income; it offsets gains."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    interval = entry.runtime_data.update_interval
    await sandbox.admin(
        "POST", "/jsecoin/accounts/alice/balance", {"lookup": "0", "value": "250"}
    )
    await poll(hass, interval)
    assert income(hass) == (0, 0)
    await mine(sandbox, "0.75")  # 0.5 of it makes up for the drop
    await poll(hass, interval)
    assert income(hass) == (Decimal("0.25"), Decimal("0.25"))


async def test_entry_announced_before_its_balance_survives_a_reload(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """An entry read outside a poll (a transfer settled from the history) is kept.

    The balance shows it only at the next poll, after a reload here: it must still
    explain the change then, not count as income.
    """
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await client(hass, sandbox, BOB).transfer(ALICE["email"], Decimal(2), "early")
    coordinator = entry.runtime_data
    await coordinator.async_process_history(await coordinator.client.history())
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert Decimal(hass.states.get("sensor.jsecoin_123_balance").state) == Decimal(
        "252.5"
    )
    assert income(hass) == (0, 0)


async def test_no_statistics_without_the_recorder(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Without the recorder nothing is read for statistics: one history read."""
    await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    assert sandbox.route_count("jsecoin", "history") == 1
