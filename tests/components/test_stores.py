"""The file of what a JSEcoin entry's polls change: one file, one write per poll."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.coinhub.api.jsecoin import HistoryRecord
from custom_components.coinhub.const import DOMAIN, EVENT_TRANSACTION
from custom_components.coinhub.coordinator import HistoryMarker
from custom_components.coinhub.stores import SAVE_DELAY_SECONDS
from tests.components.conftest import (
    jsecoin_config_entry,
    restart_home_assistant,
    setup_entry,
)
from tests.components.sandbox_entries import ALICE, jsecoin_entry
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

INCOME_TODAY = "sensor.jsecoin_123_income_today"


def stored(hass_storage: dict[str, Any], entry_id: str, name: str) -> Any:
    """Return what storage holds under ``coinhub.<entry id>.<name>``, or ``None``."""
    held = hass_storage.get(f"{DOMAIN}.{entry_id}.{name}")
    return None if held is None else held["data"]


async def let_saves_happen(hass: HomeAssistant) -> None:
    """Move time past the delay of the saves scheduled so far."""
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY_SECONDS)
    )
    await hass.async_block_till_done()


@pytest.fixture
def written() -> Generator[list[str]]:
    """The keys of the stores written, in order."""
    keys: list[str] = []
    write = Store._async_handle_write_data

    async def counted(store: Store[Any], *args: Any) -> None:
        keys.append(store.key)
        await write(store, *args)

    with patch.object(Store, "_async_handle_write_data", counted):
        yield keys


async def mine(sandbox: Sandbox, value: str, *, listed: bool) -> None:
    """Credit Alice a mining reward, listed in her history or not."""
    await sandbox.admin("POST", "/jsecoin/mining_in_history", {"enabled": listed})
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": value})


async def test_a_poll_writes_both_sections_in_one_file(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sandbox: Sandbox,
    written: list[str],
) -> None:
    """A poll that moves the history and the income writes the entry's file once."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await let_saves_happen(hass)
    account_key = f"{DOMAIN}.{entry.entry_id}.account"
    assert written.count(account_key) == 1
    events = async_capture_events(hass, EVENT_TRANSACTION)

    await mine(sandbox, "0.5", listed=True)
    await poll(hass, entry.runtime_data.update_interval)
    await let_saves_happen(hass)

    assert len(events) == 1
    assert written.count(account_key) == 2
    assert [key for key in written if entry.entry_id in key] == [account_key] * 2
    sections = stored(hass_storage, entry.entry_id, "account")
    assert set(sections) == {"history", "income"}
    marker = HistoryMarker.from_dict(sections["history"])
    assert events[0].data["id"] in marker.recent
    assert sections["income"]["days"] == {dt_util.now().date().isoformat(): "0.5"}


async def test_a_section_saved_alone_keeps_the_other(
    hass: HomeAssistant, hass_storage: dict[str, Any], sandbox: Sandbox
) -> None:
    """Income saved after a restart, with nothing new to announce, keeps the history.

    The history section was read from disk and not saved since: the file written
    for the income still holds it as read.
    """
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await mine(sandbox, "0.5", listed=True)
    await poll(hass, entry.runtime_data.update_interval)
    await let_saves_happen(hass)
    before = stored(hass_storage, entry.entry_id, "account")

    await restart_home_assistant(hass, entry)
    await mine(sandbox, "0.25", listed=False)  # the balance moves, the history not
    events = async_capture_events(hass, EVENT_TRANSACTION)
    await setup_entry(hass, entry)
    await let_saves_happen(hass)

    assert events == []
    after = stored(hass_storage, entry.entry_id, "account")
    assert after["history"] == before["history"]
    assert after["income"] != before["income"]
    assert after["income"]["days"] == {dt_util.now().date().isoformat(): "0.75"}


@pytest.mark.parametrize("leftover", [False, True], ids=["moved", "already_moved"])
async def test_files_of_an_older_version_move_into_one(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_jsecoin_client: AsyncMock,
    leftover: bool,
) -> None:
    """The history marker and the income of separate files are read, then merged.

    Nothing already announced is announced again and the day's income stays. Had a
    crash come between writing the file and removing the old ones, the file is what
    counts and the old ones stay until the entry is removed.
    """
    entry = jsecoin_config_entry()
    entries = mock_jsecoin_client.history.return_value.entries
    marker = HistoryMarker.of([HistoryRecord.of(e) for e in entries[:-1]]).as_dict()
    today = dt_util.now().date().isoformat()
    income = {
        "balance": str(mock_jsecoin_client.balances["0"]),
        "explained": "0",
        "held_back": "0",
        "days": {today: "1.5"},
    }
    older = {"history": marker, "income": income}
    for name, data in older.items():
        key = f"{DOMAIN}.{entry.entry_id}.{name}"
        hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": data}
    if leftover:
        key = f"{DOMAIN}.{entry.entry_id}.account"
        moved = {**older, "income": {**income, "days": {today: "2"}}}
        hass_storage[key] = {
            "version": 1,
            "minor_version": 1,
            "key": key,
            "data": moved,
        }
    events = async_capture_events(hass, EVENT_TRANSACTION)

    await setup_entry(hass, entry)

    assert [event.data["id"] for event in events] == [entries[-1].id]
    assert Decimal(hass.states.get(INCOME_TODAY).state) == (2 if leftover else 1.5)
    for name, data in older.items():
        assert stored(hass_storage, entry.entry_id, name) == (
            data if leftover else None
        )
    if not leftover:
        # Written at once, before the old files went.
        assert stored(hass_storage, entry.entry_id, "account") == older
