"""Long-term statistics of a JSEcoin account: imported at setup, then kept current.

Alice's sandbox account has 30 days of transfers. Right after setup the recorder holds
every hour of them; a poll adds what is new; a restart neither imports again nor
loses what came while Home Assistant was stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from itertools import pairwise
from typing import Any
from unittest.mock import patch

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    get_last_statistics,
    get_metadata,
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.coinhub import statistics as statistics_module
from custom_components.coinhub.api.exceptions import CannotConnectError
from custom_components.coinhub.api.jsecoin import JSEcoinClient
from custom_components.coinhub.statistics import hour_of, statistic_id
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BLOCK_SECONDS,
    BOB,
    jsecoin_entry,
    jsecoin_seed_with_history,
)
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

DAYS = 30
BALANCE = statistic_id("jsecoin_123", "balance")
TRANSFERRED_IN = statistic_id("jsecoin_123", "transferred_in")
TRANSFERRED_OUT = statistic_id("jsecoin_123", "transferred_out")
# Alice's own seed sends Bob 1.5 JSE two hours before the sandbox starts.
SEEDED_OUT = Decimal("1.5")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant, then let it load CoinHub."""


@pytest.fixture
def sandbox_seed() -> dict[str, Any]:
    """Alice and Bob with a month of transfers."""
    return {"jsecoin": jsecoin_seed_with_history(DAYS)}


async def hourly(hass: HomeAssistant, statistic: str) -> list[dict[str, Any]]:
    """Return every hourly row of a statistic, oldest first."""
    await async_wait_recording_done(hass)
    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.utcnow() - timedelta(days=DAYS + 2),
        None,
        {statistic},
        "hour",
        None,
        {"sum", "state", "mean", "min", "max"},
    )
    found: list[dict[str, Any]] = list(rows.get(statistic, []))
    return found


def assert_every_hour_once(rows: list[dict[str, Any]]) -> None:
    """Rows are consecutive hours up to the current one, none missing or repeated."""
    starts = [row["start"] for row in rows]
    assert all(b - a == 3600 for a, b in pairwise(starts))
    now = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    assert datetime.fromtimestamp(starts[-1], dt_util.UTC) == now


def bob(hass: HomeAssistant, sandbox: Sandbox) -> JSEcoinClient:
    """Return Bob's client, to send Alice JSE."""
    return JSEcoinClient(
        async_get_clientsession(hass),
        BOB["api_key"],
        base_url=sandbox.base_url("jsecoin"),
    )


async def test_history_is_imported_then_kept_current(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Setup imports a month of hours; a poll adds a transfer to its hour."""
    entry: MockConfigEntry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await async_wait_recording_done(hass)
    ids = {
        item["statistic_id"]
        for item in await get_instance(hass).async_add_executor_job(
            list_statistic_ids, hass
        )
    }
    assert {BALANCE, TRANSFERRED_IN, TRANSFERRED_OUT} <= ids
    metadata = await get_instance(hass).async_add_executor_job(
        partial(get_metadata, hass, statistic_ids={BALANCE, TRANSFERRED_IN})
    )
    assert metadata[TRANSFERRED_IN][1]["has_sum"] is True
    assert metadata[TRANSFERRED_IN][1]["unit_of_measurement"] == "JSE"
    assert metadata[BALANCE][1]["has_sum"] is False
    assert metadata[BALANCE][1]["mean_type"] == 1  # arithmetic

    received = await hourly(hass, TRANSFERRED_IN)
    sent = await hourly(hass, TRANSFERRED_OUT)
    balance = await hourly(hass, BALANCE)
    # From the hour of the first transfer, 30 days ago, to this one.
    assert len(received) >= DAYS * 24
    for rows in (received, sent, balance):
        assert_every_hour_once(rows)
    assert received[0]["sum"] == 2  # the first transfer's own hour
    assert received[-1]["sum"] == 2 * DAYS
    assert sent[-1]["sum"] == DAYS + SEEDED_OUT
    sums = [row["sum"] for row in received]
    assert sums == sorted(sums)
    # The balance is worked back from today's: 250.5 now, and before the month
    # began the month's net (+60, -31.5, mining +0.755) had not happened yet.
    assert balance[-1]["max"] == pytest.approx(250.5)
    assert balance[0]["min"] == pytest.approx(250.5 - 2 * DAYS + DAYS + 1.5 - 0.755)

    await bob(hass, sandbox).transfer(ALICE["email"], Decimal(5), "after-setup")
    await poll(hass, entry.runtime_data.update_interval)
    after = await hourly(hass, TRANSFERRED_IN)
    assert after[-1]["sum"] == 2 * DAYS + 5
    assert len(after) == len(received)  # the same hour, not a new row
    assert_every_hour_once(after)
    assert (await hourly(hass, BALANCE))[-1]["max"] == pytest.approx(255.5)


async def test_hours_while_stopped_are_filled(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Hours that passed while stopped get rows: the sums and balance they kept."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    later = dt_util.utcnow() + timedelta(hours=3)
    with patch(
        "custom_components.coinhub.statistics.dt_util.utcnow", return_value=later
    ):
        await setup_entry(hass, entry)
    for statistic in (BALANCE, TRANSFERRED_IN, TRANSFERRED_OUT):
        rows = await hourly(hass, statistic)
        starts = [row["start"] for row in rows]
        assert all(b - a == 3600 for a, b in pairwise(starts))
        assert (
            starts[-1] == later.replace(minute=0, second=0, microsecond=0).timestamp()
        )
    assert (await hourly(hass, BALANCE))[-1]["mean"] == pytest.approx(250.5)
    assert (await hourly(hass, TRANSFERRED_IN))[-1]["sum"] == 2 * DAYS


async def test_restart_neither_imports_again_nor_loses(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """After a restart the sums go on from the recorder's last row."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    client = bob(hass, sandbox)
    await client.transfer(ALICE["email"], Decimal(5), "before-restart")
    await poll(hass, entry.runtime_data.update_interval)
    await async_wait_recording_done(hass)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    sandbox.context.clock.advance(BLOCK_SECONDS)  # Bob's write lock
    await client.transfer(ALICE["email"], Decimal(3), "while-stopped")
    history_reads = sandbox.route_count("jsecoin", "history")
    await setup_entry(hass, entry)
    # The first poll reads the history once; no second read for an import.
    assert sandbox.route_count("jsecoin", "history") - history_reads == 1

    received = await hourly(hass, TRANSFERRED_IN)
    assert received[-1]["sum"] == 2 * DAYS + 5 + 3
    assert_every_hour_once(received)
    last = await get_instance(hass).async_add_executor_job(
        get_last_statistics, hass, 1, TRANSFERRED_OUT, False, {"sum"}
    )
    assert last[TRANSFERRED_OUT][0]["sum"] == DAYS + SEEDED_OUT


async def test_import_tried_again_after_a_failed_read(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """The import's history read failing leaves no rows; the next poll imports."""
    real_history = JSEcoinClient.history
    reads = 0

    async def history(self: JSEcoinClient) -> Any:
        nonlocal reads
        reads += 1
        if reads == 1:  # the import's read: polls read only the recent history
            raise CannotConnectError("down")
        return await real_history(self)

    with patch.object(JSEcoinClient, "history", history):
        entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
        assert await hourly(hass, TRANSFERRED_IN) == []
        await poll(hass, entry.runtime_data.update_interval)
    received = await hourly(hass, TRANSFERRED_IN)
    assert received[-1]["sum"] == 2 * DAYS
    assert_every_hour_once(received)


async def test_an_idle_account_does_not_write_every_poll(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Unchanged polls write nothing; the hour's row is written when the entry unloads."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    with (
        patch(
            "custom_components.coinhub.statistics.async_add_external_statistics",
            wraps=statistics_module.async_add_external_statistics,
        ) as add,
        # Home Assistant's clock stands still: both polls fall in this same hour.
        patch.object(
            statistics_module.dt_util, "utcnow", return_value=dt_util.utcnow()
        ),
    ):
        await poll(hass, entry.runtime_data.update_interval)
        await poll(hass, entry.runtime_data.update_interval)
        assert add.call_count == 0
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    assert [call.args[1]["statistic_id"] for call in add.call_args_list] == [BALANCE]
    assert (await hourly(hass, BALANCE))[-1]["mean"] == pytest.approx(250.5)


async def test_entry_added_before_statistics_is_imported_once(
    hass: HomeAssistant, sandbox: Sandbox, hass_storage: dict[str, Any]
) -> None:
    """An entry whose history was announced before statistics existed gets them.

    Its first poll announces the last two days as new; the import has them too, and
    nothing is counted twice.
    """
    entry = jsecoin_entry(sandbox, ALICE)
    two_days_ago = dt_util.utcnow() - timedelta(days=2, hours=2)
    hass_storage[f"coinhub.{entry.entry_id}.account"] = {
        "version": 1,
        "key": f"coinhub.{entry.entry_id}.account",
        "data": {"history": {"newest": two_days_ago.isoformat(), "recent_ids": []}},
    }
    await setup_entry(hass, entry)
    received = await hourly(hass, TRANSFERRED_IN)
    assert received[-1]["sum"] == 2 * DAYS
    assert (await hourly(hass, TRANSFERRED_OUT))[-1]["sum"] == DAYS + SEEDED_OUT
    assert_every_hour_once(received)


async def test_an_idle_hour_is_written_when_the_next_begins(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """The first poll of a new hour writes the closed hour's row and the new one."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    now = dt_util.utcnow()
    with (
        patch(
            "custom_components.coinhub.statistics.async_add_external_statistics",
            wraps=statistics_module.async_add_external_statistics,
        ) as add,
        patch.object(statistics_module.dt_util, "utcnow", return_value=now),
    ):
        await poll(hass, entry.runtime_data.update_interval)
        assert add.call_count == 0
    next_hour = now + timedelta(hours=1)
    with (
        patch(
            "custom_components.coinhub.statistics.async_add_external_statistics",
            wraps=statistics_module.async_add_external_statistics,
        ) as add,
        patch.object(statistics_module.dt_util, "utcnow", return_value=next_hour),
    ):
        await poll(hass, entry.runtime_data.update_interval)
    balance_rows = [
        [row["start"] for row in call.args[2]]
        for call in add.call_args_list
        if call.args[1]["statistic_id"] == BALANCE
    ]
    assert balance_rows == [[hour_of(now), hour_of(next_hour)]]
