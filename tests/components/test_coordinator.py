"""The coordinators: polling intervals and cost, history events, errors and repairs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import logging
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.coinhub.api.coinetize import Paths, TimestampRefusedError
from custom_components.coinhub.api.coinsoftworks import (
    Action,
    Execution,
    ExecutionStatus,
)
from custom_components.coinhub.api.exceptions import (
    AccessLevelError,
    AuthenticationError,
    CannotConnectError,
    RateLimitedError,
)
from custom_components.coinhub.api.jsecoin import (
    EARLIEST_MILLISECONDS,
    MAIN_BALANCE_LOOKUP,
    Balance,
    History,
    HistoryEntry,
    HistoryRecord,
    RecentHistory,
)
from custom_components.coinhub.const import (
    CONF_WEBSITES,
    DOMAIN,
    EVENT_ACTION_FINISHED,
    EVENT_TRANSACTION,
    Provider,
)
from custom_components.coinhub.coordinator import (
    COINETIZE_INTERVAL,
    COINSOFTWORKS_INTERVAL,
    JSECOIN_BLOCK_INTERVAL,
    JSECOIN_HISTORY_SAFETY_INTERVAL,
    CoinetizeCoordinator,
    CoinsoftworksCoordinator,
    HistoryMarker,
    JSEcoinCoordinator,
    jsecoin_polling_interval,
)
from custom_components.coinhub.coordinator.jsecoin import (
    HISTORY_REORDER_WINDOW,
    JSECOIN_LOOKUP_CONCURRENCY,
    JSECOIN_MIN_INTERVAL,
)
from custom_components.coinhub.stores import SAVE_DELAY_SECONDS
from tests.components.conftest import (
    CONFIG_ENTRIES,
    coinetize_config_entry,
    fixture_secrets,
    jsecoin_config_entry,
    restart_home_assistant,
    setup_entry,
)

BALANCE = "sensor.jsecoin_123_balance"
LAST_TRANSACTION = "sensor.jsecoin_123_last_transaction"
BLOCK = "sensor.jsecoin_123_current_block"
TRANSACTION = "event.jsecoin_123_transaction"
LAST_ACTION = "sensor.coinsoftworks_johncb5496_last_action_status"
FIRST_READ = {
    Provider.JSECOIN: "balance",
    Provider.COINETIZE: "list_paths",
    Provider.COINSOFTWORKS: "user",
}
ACCOUNT_FILE_KEY = f"{DOMAIN}.01JSECOIN0000000000000000.account"


def new_entry(
    history: History, entry_id: str, command: str, value: str, minutes: int = 1
) -> HistoryEntry:
    """Return a history entry ``minutes`` after the newest one of ``history``."""
    return HistoryEntry(
        id=entry_id,
        command=command,
        value=Decimal(value),
        timestamp=history.entries[-1].timestamp + timedelta(minutes=minutes),
        reference="ref" if command == "transfer" else None,
        counterparty_email="someone@example.com" if command == "transfer" else None,
        counterparty_public_key="04abcdef" if command == "transfer" else None,
        user_id=123,
    )


def grow(client: AsyncMock, *entries: HistoryEntry) -> None:
    """Add entries to the mocked history and move the balance by their values."""
    history: History = client.history.return_value
    client.history.return_value = replace(history, entries=(*history.entries, *entries))
    client.balances["0"] += sum((entry.value for entry in entries), Decimal(0))


async def poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, interval: timedelta
) -> None:
    """Let one polling interval pass."""
    freezer.tick(interval)
    async_fire_time_changed(hass)
    # The poll runs as a background task (and reads lookups concurrently).
    await hass.async_block_till_done(wait_background_tasks=True)


class InFlight:
    """Which reads were in flight together: each read yields to the loop once."""

    def __init__(self) -> None:
        """Start with nothing in flight."""
        self._now: set[str] = set()
        self.together: list[set[str]] = []

    async def read(self, name: str) -> None:
        """Be in flight as ``name`` for one turn of the event loop."""
        self._now.add(name)
        self.together.append(set(self._now))
        await asyncio.sleep(0)
        self._now.discard(name)


# Intervals


def test_jsecoin_interval_keeps_to_its_share() -> None:
    """A third of 500 requests per 15 minutes, never more than once a minute.

    Every read counts: the balance, each lookup, the history (read on every poll of
    a mining account) and the block id (once per five minutes).
    """
    assert jsecoin_polling_interval(0) == JSECOIN_MIN_INTERVAL
    assert jsecoin_polling_interval(10) == timedelta(seconds=70)
    assert jsecoin_polling_interval(19) == timedelta(seconds=129)
    assert jsecoin_polling_interval(100) == timedelta(minutes=15)
    for lookups in (0, 1, 10, 19, 50, 100, 160):
        assert worst_window(lookups) <= 500 / 3, lookups


def worst_window(lookups: int, hours: int = 6) -> int:
    """Return the most requests any 15 minutes of polling sends, a mining account."""
    interval = jsecoin_polling_interval(lookups).total_seconds()
    block_read_at = None
    sent: list[tuple[float, int]] = []
    at = 0.0
    while at < hours * 3600:
        requests = 1 + lookups + 1  # balance, lookups, history
        if block_read_at is None or at - block_read_at >= 300:
            requests += 1
            block_read_at = at
        sent.append((at, requests))
        at += interval
    return max(sum(n for t, n in sent if end - 900 < t <= end) for end, _n in sent)


@pytest.mark.parametrize(
    ("provider", "interval"),
    [
        (Provider.JSECOIN, JSECOIN_MIN_INTERVAL),
        (Provider.COINETIZE, COINETIZE_INTERVAL),
        (Provider.COINSOFTWORKS, COINSOFTWORKS_INTERVAL),
    ],
)
async def test_entry_interval(
    hass: HomeAssistant, init_integration: MockConfigEntry, interval: timedelta
) -> None:
    """Each coordinator chooses its provider's interval."""
    assert init_integration.runtime_data.update_interval == interval


async def test_jsecoin_interval_grows_with_lookups(
    hass: HomeAssistant, mock_clients: dict[Provider, AsyncMock]
) -> None:
    """Many lookups make the JSEcoin polls rarer."""
    lookups = [f"site{number}.example.com" for number in range(29)]
    for lookup in lookups:
        mock_clients[Provider.JSECOIN].balances[lookup] = Decimal(1)
    entry = await setup_entry(hass, jsecoin_config_entry(lookups=lookups))
    assert entry.runtime_data.update_interval == timedelta(seconds=180)


# Request cost


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_unchanged_account_costs_one_request(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """A poll reads the main balance (and lookups); history and block only when due."""
    entry = await setup_entry(hass, jsecoin_config_entry(lookups=[]))
    assert mock_jsecoin_client.history.await_count == 1
    assert mock_jsecoin_client.current_block_id.await_count == 1
    mock_jsecoin_client.reset_mock()

    for _ in range(4):
        await poll(hass, freezer, entry.runtime_data.update_interval)
    assert mock_jsecoin_client.balance.await_count == 4
    assert mock_jsecoin_client.history.await_count == 0
    assert mock_jsecoin_client.current_block_id.await_count == 0

    # The block id is read on its own, slower cadence.
    mock_jsecoin_client.current_block_id.return_value = 72330
    await poll(hass, freezer, entry.runtime_data.update_interval)
    assert mock_jsecoin_client.current_block_id.await_count == 1
    assert hass.states.get(BLOCK).state == "72330"
    assert mock_jsecoin_client.history.await_count == 0


async def test_lookups_cost_one_request_each(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Each lookup adds one request to a poll, asked with the main balance's."""
    mock_jsecoin_client.reset_mock()
    mock_jsecoin_client.balances["mysite.com"] = Decimal("13")
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert [call.args for call in mock_jsecoin_client.balance.await_args_list] == [
        (MAIN_BALANCE_LOOKUP,),
        ("mysite.com",),
    ]
    assert hass.states.get("sensor.jsecoin_123_balance_of_mysite_com").state == ("13")


async def test_history_safety_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """The history is read now and then even when the balance stands still."""
    mock_jsecoin_client.reset_mock()
    interval = init_integration.runtime_data.update_interval
    polls = JSECOIN_HISTORY_SAFETY_INTERVAL // interval
    for _ in range(polls):
        await poll(hass, freezer, interval)
    assert mock_jsecoin_client.history.await_count == 1
    assert mock_jsecoin_client.current_block_id.await_count == (
        JSECOIN_HISTORY_SAFETY_INTERVAL // JSECOIN_BLOCK_INTERVAL
    )


# History events


async def test_first_history_is_the_baseline(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """What the account already had is recorded, not announced."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    await setup_entry(hass, jsecoin_config_entry())
    assert events == []
    assert hass.states.get(TRANSACTION).state == "unknown"
    assert ACCOUNT_FILE_KEY not in hass_storage  # saved shortly, off the refresh
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY_SECONDS)
    )
    await hass.async_block_till_done()
    stored = hass_storage[ACCOUNT_FILE_KEY]["data"]["history"]
    history: History = mock_clients[Provider.JSECOIN].history.return_value
    assert stored["newest"] == history.entries[-1].timestamp.isoformat()
    assert set(stored["recent_ids"]) == {e.id for e in history.entries[1:]}
    assert stored["recent_times"] == [
        HistoryRecord.of(e).milliseconds for e in history.entries[1:]
    ]


async def test_new_entries_announced_once_in_order(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Each new entry fires one event, oldest first, and triggers the event entity."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    history = mock_jsecoin_client.history.return_value
    incoming = new_entry(history, "-New1", "transfer", "2.5", minutes=1)
    mined = new_entry(history, "-New2", "mining", "0.25", minutes=2)
    grow(mock_jsecoin_client, incoming, mined)
    interval = init_integration.runtime_data.update_interval

    await poll(hass, freezer, interval)
    await poll(hass, freezer, interval)

    assert [event.data for event in events] == [
        {
            "config_entry_id": init_integration.entry_id,
            "id": "-New1",
            "command": "transfer",
            "value": 2.5,
            "reference": "ref",
            "timestamp": incoming.timestamp.isoformat(),
        },
        {
            "config_entry_id": init_integration.entry_id,
            "id": "-New2",
            "command": "mining",
            "value": 0.25,
            "reference": None,
            "timestamp": mined.timestamp.isoformat(),
        },
    ]
    state = hass.states.get(TRANSACTION)
    assert state.attributes["event_type"] == "mining"
    assert state.attributes["id"] == "-New2"
    assert hass.states.get(BALANCE).state == "253.25"
    assert hass.states.get(LAST_TRANSACTION).state == mined.timestamp.isoformat()
    assert mock_jsecoin_client.history.await_count == 2


async def test_events_carry_no_personal_data(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """No e-mail address, public key or credential in events or event attributes."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    history = mock_jsecoin_client.history.return_value
    grow(mock_jsecoin_client, new_entry(history, "-Out", "transfer", "-1"))
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert len(events) == 1
    state = hass.states.get(TRANSACTION)
    assert state.attributes["event_type"] == "transfer_out"
    texts = f"{[event.data for event in events]} {state.attributes}"
    for secret in (*fixture_secrets(), "someone@example.com", "04abcdef"):
        assert secret not in texts


@pytest.mark.parametrize(
    ("command", "value", "event_type"),
    [
        ("transfer", "3", "transfer_in"),
        ("transfer", "-3", "transfer_out"),
        ("mining", "0.1", "mining"),
        ("import", "5", "import"),
        ("export", "-5", "export"),
    ],
)
async def test_event_types(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
    command: str,
    value: str,
    event_type: str,
) -> None:
    """The event entity's type follows the command and the direction."""
    history = mock_jsecoin_client.history.return_value
    grow(mock_jsecoin_client, new_entry(history, "-X", command, value))
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert hass.states.get(TRANSACTION).attributes["event_type"] == event_type


async def test_unknown_command_fires_event_only(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """A command without an event type is still announced on the bus."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    history = mock_jsecoin_client.history.return_value
    grow(mock_jsecoin_client, new_entry(history, "-Odd", "airdrop", "1"))
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert [event.data["command"] for event in events] == ["airdrop"]
    assert hass.states.get(TRANSACTION).state == "unknown"


async def test_home_assistant_restart_neither_repeats_nor_misses(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """The marker saved shortly after a poll is written when Home Assistant stops."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    history = mock_jsecoin_client.history.return_value
    before = new_entry(history, "-Before", "mining", "1", minutes=1)
    grow(mock_jsecoin_client, before)
    await poll(hass, freezer, init_integration.runtime_data.update_interval)

    await restart_home_assistant(hass, init_integration)
    during = new_entry(history, "-During", "mining", "1", minutes=2)
    grow(mock_jsecoin_client, during)
    await setup_entry(hass, init_integration)

    assert [event.data["id"] for event in events] == ["-Before", "-During"]


async def test_restart_neither_repeats_nor_misses(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Entries announced before a restart stay announced; those made meanwhile fire."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    history = mock_jsecoin_client.history.return_value
    before = new_entry(history, "-Before", "mining", "1", minutes=1)
    grow(mock_jsecoin_client, before)
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert [event.data["id"] for event in events] == ["-Before"]

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    during = new_entry(history, "-During", "mining", "1", minutes=2)
    grow(mock_jsecoin_client, during)
    await setup_entry(hass, init_integration)

    assert [event.data["id"] for event in events] == ["-Before", "-During"]
    stored = hass_storage[ACCOUNT_FILE_KEY]["data"]
    assert stored["history"]["newest"] != during.timestamp.isoformat()
    # Home Assistant's last write when it stops saves the marker still pending.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    stored = hass_storage[ACCOUNT_FILE_KEY]["data"]
    assert stored["history"]["newest"] == during.timestamp.isoformat()


async def test_stored_marker_is_read_by_the_first_load(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_jsecoin_client: AsyncMock,
) -> None:
    """After Home Assistant starts, what storage says was announced is not repeated."""
    entries = mock_jsecoin_client.history.return_value.entries
    assert len(entries) >= 2
    entry = jsecoin_config_entry()
    key = f"{DOMAIN}.{entry.entry_id}.account"
    marker = HistoryMarker.of([HistoryRecord.of(e) for e in entries[:-1]])
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"history": marker.as_dict()},
    }
    events = async_capture_events(hass, EVENT_TRANSACTION)
    await setup_entry(hass, entry)
    assert [event.data["id"] for event in events] == [entries[-1].id]


async def test_late_entry_with_an_older_timestamp(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """An entry written a little out of timestamp order is still announced once."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    history = mock_jsecoin_client.history.return_value
    late = new_entry(history, "-Late", "mining", "1", minutes=-5)
    client_history = replace(
        history,
        entries=tuple(sorted((*history.entries, late), key=lambda e: e.timestamp)),
    )
    mock_jsecoin_client.history.return_value = client_history
    mock_jsecoin_client.balances["0"] += 1
    interval = init_integration.runtime_data.update_interval
    await poll(hass, freezer, interval)
    mock_jsecoin_client.balances["0"] += 1  # moves again: history read again
    await poll(hass, freezer, interval)
    assert [event.data["id"] for event in events] == ["-Late"]
    # New, but not the last: the last transaction is still the newest entry.
    newest = history.entries[-1].timestamp.isoformat()
    assert hass.states.get(LAST_TRANSACTION).state == newest


async def test_empty_first_history(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_jsecoin_client: AsyncMock,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """An account without history gets every later entry announced."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    full: History = mock_jsecoin_client.history.return_value
    mock_jsecoin_client.history.return_value = History(entries=(), account_user_id=None)
    entry = await setup_entry(hass, jsecoin_config_entry())
    assert hass.states.get(LAST_TRANSACTION).state == "unknown"
    mock_jsecoin_client.history.return_value = full
    mock_jsecoin_client.balances["0"] += 1
    await poll(hass, freezer, entry.runtime_data.update_interval)
    assert [event.data["id"] for event in events] == [e.id for e in full.entries]


async def test_history_read_from_the_marker_window_on(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Only what is recent to the marker is asked for: the rest was announced."""
    first_call = mock_jsecoin_client.recent_history.await_args
    # No marker yet: only the window before the newest entry.
    assert first_call.args == (None,)
    assert first_call.kwargs == {"window": HISTORY_REORDER_WINDOW, "known": {}}
    history = mock_jsecoin_client.history.return_value
    grow(mock_jsecoin_client, new_entry(history, "-New", "mining", "1"))
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    newest = history.entries[-1].timestamp
    read = mock_jsecoin_client.recent_history.await_args
    assert read.args == (newest - HISTORY_REORDER_WINDOW,)
    # Only what the marker does not hold: the window's entries are known.
    assert set(read.kwargs["known"]) == {e.id for e in history.entries[1:]}


async def test_malformed_new_entry_is_refused_and_the_rest_announced(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A new entry that does not parse is refused on its own, and not again."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    history = mock_jsecoin_client.history.return_value
    good = new_entry(history, "-Good", "mining", "0.5", minutes=2)
    # The newest entry is the malformed one: the last transaction is the one before.
    bad_time = HistoryRecord.of(good).milliseconds + 60_000
    records = (
        *(HistoryRecord.of(e) for e in history.entries),
        HistoryRecord.of(good),
        HistoryRecord(bad_time, "-Bad", {"command": "mining", "value": "much"}),
    )
    mock_jsecoin_client.recent_history.side_effect = None
    mock_jsecoin_client.recent_history.return_value = RecentHistory(
        records=records, size=len(records) + 1, skipped=1
    )
    mock_jsecoin_client.balances["0"] += 1
    coordinator: JSEcoinCoordinator = init_integration.runtime_data
    await poll(hass, freezer, coordinator.update_interval)
    assert [event.data["id"] for event in events] == ["-Good"]
    assert coordinator.history_entries_refused == 1
    assert "history entry refused" in caplog.text
    assert "history entries are malformed and were left out" in caplog.text
    assert hass.states.get(LAST_TRANSACTION).state == good.timestamp.isoformat()
    # Seen: the next read neither refuses nor announces it again.
    mock_jsecoin_client.balances["0"] += 1
    await poll(hass, freezer, coordinator.update_interval)
    assert coordinator.history_entries_refused == 1
    assert len(events) == 1


async def test_lookups_are_read_a_few_at_a_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Many lookups are read concurrently, never more than the bound at once."""
    lookups = [
        f"site{number}.example.com"
        for number in range(2 * JSECOIN_LOOKUP_CONCURRENCY + 5)
    ]
    for number, lookup in enumerate(lookups):
        mock_jsecoin_client.balances[lookup] = Decimal(number)
    entry = await setup_entry(hass, jsecoin_config_entry(lookups=lookups))
    in_flight, most = 0, 0

    async def balance(lookup: str = "0") -> Balance:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return Balance(mock_jsecoin_client.balances[lookup], "")

    mock_jsecoin_client.balance.side_effect = balance
    coordinator: JSEcoinCoordinator = entry.runtime_data
    mock_jsecoin_client.balances["site3.example.com"] = Decimal(99)
    await poll(hass, freezer, coordinator.update_interval)
    assert most == JSECOIN_LOOKUP_CONCURRENCY
    assert coordinator.data.lookups["site3.example.com"] == Decimal(99)
    assert list(coordinator.data.lookups) == lookups


async def test_main_balance_and_lookup_are_read_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """The main balance's read overlaps with the lookups', even with only one."""
    mock_jsecoin_client.balances["mysite.com"] = Decimal(5)
    entry = await setup_entry(hass, jsecoin_config_entry(lookups=["mysite.com"]))
    reads = InFlight()

    async def balance(lookup: str = "0") -> Balance:
        await reads.read(lookup)
        return Balance(mock_jsecoin_client.balances[lookup], "")

    mock_jsecoin_client.balance.side_effect = balance
    mock_jsecoin_client.balances["0"] += 1
    await poll(hass, freezer, entry.runtime_data.update_interval)
    assert {MAIN_BALANCE_LOOKUP, "mysite.com"} in reads.together
    assert entry.runtime_data.data.balance == mock_jsecoin_client.balances["0"]
    assert entry.runtime_data.data.lookups == {"mysite.com": Decimal(5)}


async def test_block_is_read_with_the_balance_when_due(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """A poll due to read the block asks for it together with the balance."""
    reads = InFlight()

    async def balance(lookup: str = "0") -> Balance:
        await reads.read("balance")
        return Balance(mock_jsecoin_client.balances[lookup], "")

    async def current_block_id() -> int:
        await reads.read("block")
        return 72400

    mock_jsecoin_client.balance.side_effect = balance
    mock_jsecoin_client.current_block_id.side_effect = current_block_id
    await poll(hass, freezer, JSECOIN_BLOCK_INTERVAL)
    assert {"balance", "block"} in reads.together
    assert init_integration.runtime_data.data.block_id == 72400


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_coinsoftworks_reads_are_asked_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """A poll asks for the user, settings and actions together; one failure fails it."""
    reads = InFlight()

    def overlapping(name: str, answer: Any) -> Callable[[], Awaitable[Any]]:
        async def read() -> Any:
            await reads.read(name)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return read

    client = mock_coinsoftworks_client
    answers = {
        name: getattr(client, name).return_value
        for name in ("user", "settings", "actions")
    }
    for name, answer in answers.items():
        getattr(client, name).side_effect = overlapping(name, answer)
    await poll(hass, freezer, COINSOFTWORKS_INTERVAL)
    assert {"user", "settings", "actions"} in reads.together
    assert hass.states.get(LAST_ACTION).state != STATE_UNAVAILABLE

    client.settings.side_effect = overlapping("settings", CannotConnectError("down"))
    await poll(hass, freezer, COINSOFTWORKS_INTERVAL)
    assert not init_integration.runtime_data.last_update_success
    assert hass.states.get(LAST_ACTION).state == STATE_UNAVAILABLE


async def test_a_failed_lookup_stops_the_others(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """The first failing lookup fails the poll; lookups still waiting are dropped."""
    lookups = [
        f"site{number}.example.com" for number in range(3 * JSECOIN_LOOKUP_CONCURRENCY)
    ]
    for lookup in lookups:
        mock_jsecoin_client.balances[lookup] = Decimal(1)
    entry = await setup_entry(hass, jsecoin_config_entry(lookups=lookups))
    asked: list[str] = []

    async def balance(lookup: str = "0") -> Balance:
        asked.append(lookup)
        await asyncio.sleep(0)
        if lookup == "site0.example.com":
            raise CannotConnectError("down")
        return Balance(Decimal(1), "")

    mock_jsecoin_client.balance.side_effect = balance
    await poll(hass, freezer, entry.runtime_data.update_interval)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    # Lookups still waiting for a slot when the failure came were never sent.
    assert len(asked) < 1 + len(lookups)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_unchanged_poll_writes_no_state(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
) -> None:
    """Data that compares equal reaches no entity; a change does."""
    before = hass.states.get(BALANCE)
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert hass.states.get(BALANCE).last_reported == before.last_reported
    init_integration.runtime_data.client.balances["0"] += 1
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert hass.states.get(BALANCE).last_reported > before.last_reported


async def test_process_history_from_an_action(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """A history read by an action is announced once, also when a poll reads it."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    coordinator: JSEcoinCoordinator = init_integration.runtime_data
    history = mock_jsecoin_client.history.return_value
    sent = new_entry(history, "-Sent", "transfer", "-4")
    grow(mock_jsecoin_client, sent)

    await coordinator.async_process_history(mock_jsecoin_client.history.return_value)
    await hass.async_block_till_done()
    assert hass.states.get(LAST_TRANSACTION).state == sent.timestamp.isoformat()
    await coordinator.async_refresh()
    await coordinator.async_process_history(mock_jsecoin_client.history.return_value)
    assert [event.data["id"] for event in events] == ["-Sent"]


def test_history_marker_since_stays_within_what_a_datetime_holds() -> None:
    """An entry dated at the earliest time a datetime holds does not break polling."""
    marker = HistoryMarker(newest=EARLIEST_MILLISECONDS, recent={"-A": 0})
    assert marker.since == datetime.min.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "marker",
    [
        HistoryMarker(newest=None, recent={}),
        HistoryMarker(
            newest=1_790_000_000_123,
            recent={"-B": 1_790_000_000_123, "-A": 1_789_999_000_000},
        ),
    ],
)
def test_history_marker_round_trip(marker: HistoryMarker) -> None:
    """A stored marker reads back as it was, to the millisecond."""
    stored = marker.as_dict()
    assert HistoryMarker.from_dict(stored) == marker
    if marker.newest is not None:  # stored as the time it is, as before
        assert stored["newest"] == "2026-09-21T14:13:20.123000+00:00"
        # Oldest first, as an earlier version reads the ids alone.
        assert stored["recent_ids"] == ["-A", "-B"]


def test_history_marker_stored_without_times() -> None:
    """A marker stored before times were kept holds its ids a window longer."""
    stored = {"newest": "2026-09-21T14:13:20.123000+00:00", "recent_ids": ["-A"]}
    marker = HistoryMarker.from_dict(stored)
    assert marker.recent == {"-A": 1_790_000_000_123}
    a_window_later = 1_790_000_000_123 + HISTORY_REORDER_WINDOW // timedelta(
        milliseconds=1
    )
    later = marker.advanced([HistoryRecord(a_window_later, "-B", {})])
    assert later.recent == {"-A": 1_790_000_000_123, "-B": a_window_later}
    assert later.advanced([HistoryRecord(a_window_later + 1, "-C", {})]).recent == {
        "-B": a_window_later,
        "-C": a_window_later + 1,
    }


def test_history_marker_advances_by_what_is_added() -> None:
    """The window follows the newest entry; a late entry moves nothing but itself."""
    minute = 60_000
    start = 1_790_000_000_000
    window = HISTORY_REORDER_WINDOW // timedelta(milliseconds=1)
    records = [HistoryRecord(start + n * minute, f"-{n:03d}", {}) for n in range(90)]
    marker = HistoryMarker.of(records[:60])
    assert marker.newest == records[59].milliseconds
    assert set(marker.recent) == {r.id for r in records[:60]}
    moved = marker.advanced(records[60:])
    assert moved.newest == records[-1].milliseconds
    assert moved == HistoryMarker.of(records)
    assert min(moved.recent.values()) == moved.newest - window
    late = HistoryRecord(start + 80 * minute + 1, "-late", {})
    assert moved.new_among([*records[60:81], late, *records[81:]]) == [late]
    with_late = moved.advanced([late])
    assert with_late.newest == moved.newest
    assert with_late.recent == {**moved.recent, "-late": late.milliseconds}
    assert moved.advanced([]) is moved


# Errors, availability and repairs


async def test_unavailable_and_back_logged_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Entities go unavailable on failed polls; one log line down, one back."""
    interval = init_integration.runtime_data.update_interval
    balance = mock_jsecoin_client.balance.side_effect
    mock_jsecoin_client.balance.side_effect = CannotConnectError("down")
    caplog.set_level(logging.INFO)
    await poll(hass, freezer, interval)
    await poll(hass, freezer, interval)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert hass.states.get(TRANSACTION).state == STATE_UNAVAILABLE
    failures = [r for r in caplog.records if "Error fetching" in r.getMessage()]
    assert len(failures) == 1
    assert "Could not reach JSEcoin for JSEcoin 123" in (failures[0].getMessage())

    mock_jsecoin_client.balance.side_effect = balance
    await poll(hass, freezer, interval)
    await poll(hass, freezer, interval)
    assert hass.states.get(BALANCE).state == "250.5"
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(recovered) == 1
    for secret in fixture_secrets():
        assert secret not in caplog.text


@pytest.mark.parametrize("provider", list(Provider))
async def test_refused_credentials_while_polling_start_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_clients: dict[Provider, AsyncMock],
    provider: Provider,
) -> None:
    """Credentials refused during a poll start one reauthentication flow."""
    read = getattr(mock_clients[provider], FIRST_READ[provider])
    read.side_effect = AuthenticationError("refused")
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert init_integration.state is ConfigEntryState.LOADED


async def test_key_without_read_access(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    mock_jsecoin_client: AsyncMock,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """A key of access level 0 fails setup, starts reauth and raises a repair issue."""
    balance = mock_jsecoin_client.balance.side_effect
    mock_jsecoin_client.balance.side_effect = AccessLevelError(
        "no read access", required_level=1
    )
    entry = jsecoin_config_entry()
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue_id = f"no_read_access_{entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "no_read_access"
    assert issue.translation_placeholders == {
        "provider": "JSEcoin",
        "account": "JSEcoin 123",
    }
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]

    # The user gives the key read access; the entry loads and the issue goes.
    mock_jsecoin_client.balance.side_effect = balance
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_rate_limited_repeatedly_raises_an_issue(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Three refused polls in a row raise the issue; a good poll clears it."""
    issue_id = f"rate_limited_{init_integration.entry_id}"
    interval = init_integration.runtime_data.update_interval
    balance = mock_jsecoin_client.balance.side_effect
    mock_jsecoin_client.balance.side_effect = RateLimitedError("slow down")
    await poll(hass, freezer, interval)
    await poll(hass, freezer, interval)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await poll(hass, freezer, interval)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "rate_limited"

    mock_jsecoin_client.balance.side_effect = balance
    await poll(hass, freezer, interval)
    assert hass.states.get(BALANCE).state == "250.5"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_rate_limit_issue_goes_with_the_entry(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    init_integration: MockConfigEntry,
    mock_jsecoin_client: AsyncMock,
) -> None:
    """Unloading the entry clears its rate-limit issue."""
    mock_jsecoin_client.balance.side_effect = RateLimitedError("slow", retry_after=5)
    for _ in range(3):
        await poll(hass, freezer, init_integration.runtime_data.update_interval)
    issue_id = f"rate_limited_{init_integration.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("provider", list(Provider))
async def test_every_provider_polls(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_clients: dict[Provider, AsyncMock],
    provider: Provider,
) -> None:
    """Each coordinator polls again after its interval."""
    client = mock_clients[provider]
    client.reset_mock()
    await poll(hass, freezer, init_integration.runtime_data.update_interval)
    assert client.method_calls


async def test_events_not_fired_for_other_entries(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
) -> None:
    """Setting up another provider's entry fires no transaction events."""
    events: list[Event] = async_capture_events(hass, EVENT_TRANSACTION)
    await setup_entry(hass, CONFIG_ENTRIES[Provider.COINSOFTWORKS]())
    assert events == []


# Coinetize websites

SHOP = "site-0b5e11"
BLOG = "site-7d2a90"
NEWS = "site-3c4d5e"


def website_device(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry, subdomain: str
) -> dr.DeviceEntry | None:
    """Return the device of a website, if it exists."""
    return device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{entry.unique_id}_{subdomain}"), entry.entry_id
    )


@pytest.mark.parametrize("provider", [Provider.COINETIZE])
async def test_website_devices_under_the_account(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Each website is a device of its own, linked through the account's device."""
    account = device_registry.async_get_device_by_identifier(
        (DOMAIN, "coinetize_webmaster"), init_integration.entry_id
    )
    assert account is not None
    for subdomain, name in (
        (SHOP, "shop.example.com"),
        (BLOG, "blog.example.org"),
        (NEWS, "news.example.net"),
    ):
        device = website_device(device_registry, init_integration, subdomain)
        assert device is not None
        assert device.name == name
        assert device.via_device_id == account.id


@pytest.mark.parametrize("provider", [Provider.COINETIZE])
async def test_website_states(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinetize_client: AsyncMock,
) -> None:
    """Listed paths prove verification; a refusal means not verified; dns keeps its flag."""
    assert hass.states.get("binary_sensor.shop_example_com_verified").state == "on"
    assert hass.states.get("binary_sensor.blog_example_org_verified").state == "off"
    assert hass.states.get("binary_sensor.news_example_net_verified").state == "on"
    paths = hass.states.get("sensor.shop_example_com_enabled_paths")
    assert paths.state == "2"
    assert paths.attributes["paths"] == ["/shop", "/checkout"]
    assert hass.states.get("sensor.news_example_net_enabled_paths") is None
    # dns links cost no request
    assert sorted(
        c.args[0] for c in mock_coinetize_client.list_paths.await_args_list
    ) == [
        SHOP,
        BLOG,
    ]


@pytest.mark.parametrize("provider", [Provider.COINETIZE])
async def test_websites_are_asked_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_coinetize_client: AsyncMock,
) -> None:
    """A poll asks for every website's paths together; each keeps its own answer."""
    reads = InFlight()
    answer = mock_coinetize_client.list_paths.side_effect

    async def list_paths(subdomain: str) -> Paths:
        await reads.read(subdomain)
        paths: Paths = await answer(subdomain)
        return paths

    mock_coinetize_client.list_paths.side_effect = list_paths
    await poll(hass, freezer, COINETIZE_INTERVAL)
    assert {SHOP, BLOG} in reads.together
    assert hass.states.get("binary_sensor.shop_example_com_verified").state == "on"
    assert hass.states.get("binary_sensor.blog_example_org_verified").state == "off"


@pytest.mark.parametrize("provider", [Provider.COINETIZE])
async def test_timestamp_refusal_is_not_unverified(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    mock_coinetize_client: AsyncMock,
) -> None:
    """A refused timestamp says nothing about a website: the poll fails."""
    mock_coinetize_client.list_paths.side_effect = TimestampRefusedError("skew")
    await poll(hass, freezer, COINETIZE_INTERVAL)
    state = hass.states.get("binary_sensor.shop_example_com_verified")
    assert state.state == STATE_UNAVAILABLE


@pytest.mark.parametrize("provider", [Provider.COINETIZE])
async def test_remember_verify_and_forget_a_website(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
    mock_coinetize_client: AsyncMock,
) -> None:
    """A linked website appears without a reload, is verified, then goes with its device."""
    coordinator: CoinetizeCoordinator = init_integration.runtime_data
    reloads = AsyncMock()
    hass.config_entries.async_reload = reloads  # type: ignore[method-assign]
    info = {
        "website": "new.example.com",
        "link_method": "proxy",
        "verification_code": "abc",
        "link_verification_filename": "coinetize-new",
        "verified": False,
    }
    await coordinator.async_remember_website("site-new001", info)
    await hass.async_block_till_done()
    assert init_integration.data[CONF_WEBSITES]["site-new001"] == info
    assert website_device(device_registry, init_integration, "site-new001")
    assert hass.states.get("binary_sensor.new_example_com_verified").state == "off"
    assert hass.states.get("sensor.new_example_com_enabled_paths").state == "unknown"
    assert hass.states.get("sensor.coinetize_webmaster_linked_websites").state == "4"

    mock_coinetize_client.paths["site-new001"] = Paths(("/",), ())
    await coordinator.async_mark_verified("site-new001")
    await hass.async_block_till_done()
    assert init_integration.data[CONF_WEBSITES]["site-new001"]["verified"] is True
    assert hass.states.get("binary_sensor.new_example_com_verified").state == "on"
    assert hass.states.get("sensor.new_example_com_enabled_paths").state == "1"

    await coordinator.async_forget_website("site-new001")
    await hass.async_block_till_done()
    assert "site-new001" not in init_integration.data[CONF_WEBSITES]
    assert website_device(device_registry, init_integration, "site-new001") is None
    assert hass.states.get("binary_sensor.new_example_com_verified") is None
    assert not [
        entry
        for entry in er.async_entries_for_config_entry(
            entity_registry, init_integration.entry_id
        )
        if entry.unique_id.endswith("site-new001")
    ]
    reloads.assert_not_called()
    assert init_integration.state is ConfigEntryState.LOADED

    # Linked again: it comes back.
    await coordinator.async_remember_website("site-new001", info)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.new_example_com_verified") is not None


@pytest.mark.parametrize("provider", [Provider.COINETIZE])
async def test_verify_a_dns_website(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinetize_client: AsyncMock,
) -> None:
    """A dns website's verification is only remembered: no paths to read."""
    coordinator: CoinetizeCoordinator = init_integration.runtime_data
    await coordinator.async_remember_website(
        "site-dns002",
        {"website": "dns.example.com", "link_method": "dns", "verified": False},
    )
    mock_coinetize_client.list_paths.reset_mock()
    await coordinator.async_mark_verified("site-dns002")
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.dns_example_com_verified").state == "on"
    mock_coinetize_client.list_paths.assert_not_called()


async def test_stale_website_devices_removed_at_setup(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """A website device the entry no longer holds is removed when it sets up."""
    entry = coinetize_config_entry()
    entry.add_to_hass(hass)
    stale = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, "coinetize_webmaster_site-gone00")},
        name="gone.example.com",
    )
    await setup_entry(hass, entry)
    assert device_registry.async_get(stale.id) is None
    assert website_device(device_registry, entry, SHOP) is not None


async def test_account_without_websites(
    hass: HomeAssistant,
    mock_coinetize_client: AsyncMock,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """An account that linked nothing yet polls nothing and shows no website."""
    await setup_entry(hass, coinetize_config_entry(websites={}))
    mock_coinetize_client.list_paths.assert_not_called()
    assert hass.states.get("sensor.coinetize_webmaster_linked_websites").state == "0"


async def test_websites_journal_wins_after_a_crash(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    device_registry: dr.DeviceRegistry,
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """A website journaled before a crash, but missing from the entry, comes back."""
    entry = coinetize_config_entry(websites={})
    journaled = {
        "site-saved01": {
            "website": "saved.example.com",
            "link_method": "proxy",
            "verification_code": "code",
            "link_verification_filename": "coinetize-saved01",
            "verified": False,
        }
    }
    hass_storage[f"{DOMAIN}.{entry.entry_id}.websites"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}.websites",
        "data": journaled,
    }
    await setup_entry(hass, entry)
    assert entry.data[CONF_WEBSITES] == journaled
    assert device_registry.async_get_device_by_identifier(
        (DOMAIN, "coinetize_webmaster_site-saved01"), entry.entry_id
    )


# coinsoftworks executions

CLAIM_ID = "12"


@pytest.fixture
def fast_monitor() -> Generator[None]:
    """Read executions without waiting."""
    with patch(
        "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_FIRST_DELAY",
        0,
    ):
        yield


def action(coordinator: CoinsoftworksCoordinator, action_id: str) -> Action:
    """Return one of the account's actions."""
    return next(a for a in coordinator.data.actions if a.action_id == action_id)


@pytest.mark.usefixtures("fast_monitor")
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_execute_and_wait(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """Waiting returns the finished execution; the event fires once."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    execution = await coordinator.async_execute(
        action(coordinator, CLAIM_ID), None, wait=10
    )
    await hass.async_block_till_done()
    assert execution.status is ExecutionStatus.COMPLETED
    mock_coinsoftworks_client.execute_action.assert_awaited_once_with(CLAIM_ID, None)
    assert [event.data for event in events] == [
        {
            "config_entry_id": init_integration.entry_id,
            "action_id": CLAIM_ID,
            "execution_id": "exe-5a3c0e9b12f4",
            "status": "completed",
            "result": {"claimed": "0.00042", "currency": "BTC"},
            "message": None,
        }
    ]
    state = hass.states.get(LAST_ACTION)
    assert state.state == "completed"
    assert state.attributes["action"] == "Claim mining rewards"


@pytest.mark.usefixtures("fast_monitor")
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_execute_without_waiting(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
) -> None:
    """Without waiting the queued execution returns; the monitor finishes it."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    execution = await coordinator.async_execute(action(coordinator, CLAIM_ID), None)
    assert execution.status is ExecutionStatus.QUEUED
    assert hass.states.get(LAST_ACTION).state == "queued"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(events) == 1
    assert hass.states.get(LAST_ACTION).state == "completed"


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_execute_times_out_and_goes_on(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """After the timeout the latest status returns and monitoring continues."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    with patch(
        "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_FIRST_DELAY",
        0.01,
    ):
        execution = await coordinator.async_execute(
            action(coordinator, CLAIM_ID), None, wait=0.001
        )
        assert execution.status is ExecutionStatus.QUEUED
        assert events == []
        await hass.async_block_till_done(wait_background_tasks=True)
    assert [event.data["status"] for event in events] == ["completed"]


@pytest.mark.usefixtures("fast_monitor")
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_execution_finished_at_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """An execution that answers finished is announced without monitoring."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    mock_coinsoftworks_client.execute_action.return_value = Execution(
        "exe-now", None, ExecutionStatus.FAILED, None, "no liquidity"
    )
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    execution = await coordinator.async_execute(
        action(coordinator, "17"), None, wait=10
    )
    await hass.async_block_till_done()
    assert execution.status is ExecutionStatus.FAILED
    mock_coinsoftworks_client.execution.assert_not_called()
    assert [(e.data["action_id"], e.data["status"]) for e in events] == [
        ("17", "failed")
    ]


@pytest.mark.usefixtures("fast_monitor")
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_monitor_keeps_reading_after_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """A failed read of the execution is tried again; the execution is never re-sent."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    completed = mock_coinsoftworks_client.execution.side_effect
    mock_coinsoftworks_client.execution.side_effect = [
        CannotConnectError("blip"),
        *completed,
    ]
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    execution = await coordinator.async_execute(
        action(coordinator, CLAIM_ID), None, wait=10
    )
    assert execution.status is ExecutionStatus.COMPLETED
    assert mock_coinsoftworks_client.execute_action.await_count == 1
    assert len(events) == 1


@pytest.mark.usefixtures("fast_monitor")
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_monitor_gives_up(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """An execution that never finishes is followed for a limited time."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    running = Execution("exe-5a3c0e9b12f4", CLAIM_ID, ExecutionStatus.RUNNING)
    mock_coinsoftworks_client.execution.side_effect = None
    mock_coinsoftworks_client.execution.return_value = running
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    with (
        patch(
            "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_LIMIT",
            0.05,
        ),
        patch(
            "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_FIRST_DELAY",
            0.01,
        ),
    ):
        execution = await coordinator.async_execute(
            action(coordinator, CLAIM_ID), None, wait=5
        )
    assert execution.status is ExecutionStatus.RUNNING
    assert events == []
    assert "Stopped following execution" in caplog.text


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_monitors_cancelled_on_unload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """Unloading the entry stops following its executions."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    await coordinator.async_execute(action(coordinator, CLAIM_ID), None)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    mock_coinsoftworks_client.execution.assert_not_called()
    assert events == []


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_execution_running_at_unload_is_followed_after_setup(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """The next load follows an execution the unload cut short, and announces it once."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    await coordinator.async_execute(action(coordinator, CLAIM_ID), None)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    mock_coinsoftworks_client.execution.assert_not_called()

    with patch(
        "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_FIRST_DELAY",
        0,
    ):
        await setup_entry(hass, init_integration)
        await hass.async_block_till_done(wait_background_tasks=True)

    assert [(e.data["execution_id"], e.data["status"]) for e in events] == [
        ("exe-5a3c0e9b12f4", "completed")
    ]
    assert hass.states.get(LAST_ACTION).state == "completed"
    stored = hass_storage[f"{DOMAIN}.{init_integration.entry_id}.executions"]["data"]
    assert stored["running"] == {}
    assert stored["last"]["status"] == "completed"


@pytest.mark.usefixtures("fast_monitor")
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_stored_executions_are_followed_after_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """What storage says runs is followed; the last execution is shown at once."""
    key = f"{DOMAIN}.{mock_config_entry.entry_id}.executions"
    running = {"action_id": CLAIM_ID, "action_name": "Claim mining rewards"}
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "running": {"exe-1": running, "exe-bad": {"action_id": 12}},
            "last": {
                "execution_id": "exe-1",
                "action_id": CLAIM_ID,
                "status": "running",
                "result": None,
                "message": None,
            },
        },
    }
    release = asyncio.Event()

    async def finished(execution_id: str) -> Execution:
        await release.wait()
        return Execution(execution_id, CLAIM_ID, ExecutionStatus.COMPLETED)

    mock_coinsoftworks_client.execution.side_effect = finished
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    await setup_entry(hass, mock_config_entry)
    assert hass.states.get(LAST_ACTION).state == "running"

    release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [(e.data["execution_id"], e.data["status"]) for e in events] == [
        ("exe-1", "completed")
    ]
    mock_coinsoftworks_client.execution.assert_awaited_once_with("exe-1")
    assert hass.states.get(LAST_ACTION).state == "completed"


@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
@pytest.mark.parametrize(
    "stored", [{"running": "exe-1", "last": {"status": "bogus"}}, {"last": 7}]
)
async def test_unreadable_stored_executions_are_left_out(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
    stored: dict[str, Any],
) -> None:
    """A store that cannot be read follows nothing and shows no execution."""
    key = f"{DOMAIN}.{mock_config_entry.entry_id}.executions"
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": stored}
    await setup_entry(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    mock_coinsoftworks_client.execution.assert_not_called()
    assert mock_config_entry.runtime_data.data.last_execution is None


@pytest.mark.usefixtures("fast_monitor")
@pytest.mark.parametrize("provider", [Provider.COINSOFTWORKS])
async def test_later_execution_shown(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_coinsoftworks_client: AsyncMock,
) -> None:
    """The status shown is the latest started execution's, not an older one's."""
    coordinator: CoinsoftworksCoordinator = init_integration.runtime_data
    mock_coinsoftworks_client.execution.side_effect = None
    mock_coinsoftworks_client.execution.return_value = Execution(
        "exe-old", CLAIM_ID, ExecutionStatus.COMPLETED
    )
    mock_coinsoftworks_client.execute_action.side_effect = [
        Execution("exe-old", CLAIM_ID, ExecutionStatus.QUEUED),
        Execution("exe-new", "17", ExecutionStatus.RUNNING),
    ]
    await coordinator.async_execute(action(coordinator, CLAIM_ID), None)
    await coordinator.async_execute(action(coordinator, "17"), None)
    assert hass.states.get(LAST_ACTION).state == "running"
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get(LAST_ACTION)
    assert state.attributes["execution_id"] == "exe-new"
    assert coordinator.data.last_execution is not None
    assert coordinator.data.last_execution.execution_id == "exe-new"
