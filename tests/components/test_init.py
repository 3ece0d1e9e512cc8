"""Setting up and unloading CoinHub entries of every provider."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.coinhub.account_state import ACCOUNT_STATES
from custom_components.coinhub.api.exceptions import (
    AuthenticationError,
    CannotConnectError,
)
from custom_components.coinhub.const import DOMAIN, Provider
from custom_components.coinhub.stores import SAVE_DELAY_SECONDS
from tests.components.conftest import CONFIG_ENTRIES, setup_entry

# Taken before the test storage replaces it.
STORE_REMOVE = Store.async_remove

ALL_PROVIDERS = pytest.mark.parametrize("provider", list(Provider))
FIRST_READ = {
    Provider.JSECOIN: "balance",
    Provider.COINETIZE: "list_paths",
    Provider.COINSOFTWORKS: "user",
}


@ALL_PROVIDERS
async def test_load_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An entry loads with its coordinator as runtime data, and unloads."""
    assert init_integration.runtime_data.data is not None
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED


@ALL_PROVIDERS
async def test_account_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Each account is one service device named after the entry."""
    assert init_integration.unique_id
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, init_integration.unique_id), init_integration.entry_id
    )
    assert device is not None
    assert device.name == init_integration.title
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device == snapshot


@ALL_PROVIDERS
async def test_not_ready_when_unreachable(
    hass: HomeAssistant,
    mock_clients: dict[Provider, AsyncMock],
    provider: Provider,
) -> None:
    """A provider that cannot be reached makes setup retry later."""
    getattr(
        mock_clients[provider], FIRST_READ[provider]
    ).side_effect = CannotConnectError("down")
    entry = CONFIG_ENTRIES[provider]()
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


@ALL_PROVIDERS
async def test_refused_credentials_start_reauth(
    hass: HomeAssistant,
    mock_clients: dict[Provider, AsyncMock],
    provider: Provider,
) -> None:
    """Refused credentials fail setup and start the reauthentication flow."""
    getattr(
        mock_clients[provider], FIRST_READ[provider]
    ).side_effect = AuthenticationError("refused")
    entry = CONFIG_ENTRIES[provider]()
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == entry.entry_id


@ALL_PROVIDERS
async def test_removed_entry_leaves_nothing_on_disk(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """Removing an entry deletes its stores and its repair issues."""

    async def remove(store: Store[Any]) -> None:
        # Home Assistant's own removal (it cancels a pending delayed save), which the
        # test storage replaces, then the test storage's bookkeeping.
        await STORE_REMOVE(store)
        hass_storage.pop(store.key, None)

    entry_id = init_integration.entry_id
    # "history" and "income": the files of an older version, if still there.
    for suffix in (
        "account",
        "history",
        "income",
        "websites",
        "transfers",
        "executions",
    ):
        hass_storage[f"{DOMAIN}.{entry_id}.{suffix}"] = {
            "version": 1,
            "minor_version": 1,
            "key": f"{DOMAIN}.{entry_id}.{suffix}",
            "data": {},
        }
    for issue in ("no_read_access", "rate_limited"):
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{issue}_{entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=issue,
        )
    with patch.object(Store, "async_remove", remove):
        await hass.config_entries.async_remove(entry_id)
        await hass.async_block_till_done()
    assert not [key for key in hass_storage if entry_id in key]
    # No save still pending from the last poll brings a store back.
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY_SECONDS)
    )
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert not [key for key in hass_storage if entry_id in key]
    assert init_integration.unique_id not in hass.data.get(ACCOUNT_STATES, {})
    assert not [
        issue for (_domain, issue) in ir.async_get(hass).issues if entry_id in issue
    ]


async def test_a_reload_keeps_the_account_state(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_clients: dict[Provider, AsyncMock],
) -> None:
    """The write lock, ledger and history marker of an account outlive a reload.

    After the reload the history marker is not read from storage again: the load
    before may still be announcing, and what it holds is the newest.
    """
    entry = await setup_entry(hass, CONFIG_ENTRIES[Provider.JSECOIN]())
    before = entry.runtime_data
    shared = hass.data[ACCOUNT_STATES][entry.unique_id]
    marker = shared.history_marker
    assert marker is not None
    key = f"{DOMAIN}.{entry.entry_id}.account"
    stale = {"history": {"newest": "2000-01-01T00:00:00+00:00", "recent_ids": []}}
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": stale}

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    after = entry.runtime_data
    assert after is not before
    assert hass.data[ACCOUNT_STATES][entry.unique_id] is shared
    assert after.transfers.lock is before.transfers.lock is shared.write_lock
    assert shared.history_marker == marker
