"""The clients' shared state end to end: bearer tokens and request budgets.

The coinsoftworks bearer and the JSEcoin request budget belong to one Home Assistant
instance: they follow its clock (here Home Assistant's test ``freezer``, which the
sandbox's clock follows too), outlive a reload of their entry, and are never shared
with another instance in the same process.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_test_home_assistant,
)

from custom_components.coinhub.api.jsecoin import RATE_LIMIT_REQUESTS
from custom_components.coinhub.clients import CLIENT_STATE, client_state
from custom_components.coinhub.coordinator import COINSOFTWORKS_INTERVAL
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    JOHN,
    coinsoftworks_entry,
    jsecoin_entry,
)
from tests.conftest import Sandbox

TOKEN_LIFETIME = timedelta(minutes=30)
POLLED_FOR = timedelta(hours=2)


async def coinsoftworks_account(sandbox: Sandbox) -> dict[str, Any]:
    """Return John's coinsoftworks account as the sandbox's admin API shows it."""
    account: dict[str, Any] = await sandbox.admin(
        "GET", f"/coinsoftworks/accounts/{JOHN['api_key']}"
    )
    return account


async def test_polling_keeps_a_live_bearer_on_home_assistants_clock(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox
) -> None:
    """Two hours of polls: every call carries a live bearer, one per lifetime.

    The token cache must read the frozen clock: on any other clock it would hold on to
    a bearer the sandbox has expired, and the next call would be refused first.
    """
    await sandbox.admin(
        "POST", "/coinsoftworks/settings", {"token_ttl": TOKEN_LIFETIME.total_seconds()}
    )
    entry = await setup_entry(hass, coinsoftworks_entry(sandbox))
    polls = POLLED_FOR // COINSOFTWORKS_INTERVAL
    for _ in range(polls):
        freezer.tick(COINSOFTWORKS_INTERVAL)
        async_fire_time_changed(hass)
        # The poll runs as a background task and talks to the sandbox over sockets.
        await hass.async_block_till_done(wait_background_tasks=True)

    account = await coinsoftworks_account(sandbox)
    assert account["refused_bearers"] == 0
    assert entry.runtime_data.last_update_success
    # The setup read plus one read per poll: the polls did run, each once.
    assert sandbox.route_count("coinsoftworks", "/user/") == 1 + polls
    # Bearers issued at 0, 30, 60, 90 and 120 minutes: one per lifetime, none sooner.
    assert account["auth_count"] == 1 + POLLED_FOR // TOKEN_LIFETIME
    assert account["live_tokens"] == 1


async def test_a_reload_keeps_the_request_budget(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Reloading an entry goes on spending the budget its key had."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    budget = client_state(hass).jsecoin_budget(ALICE["api_key"])

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert client_state(hass).jsecoin_budget(ALICE["api_key"]) is budget
    spent = sandbox.request_count("jsecoin")
    assert spent > 2  # the first setup's reads and the reload's
    assert budget.remaining == RATE_LIMIT_REQUESTS - spent


async def test_each_home_assistant_starts_with_a_full_budget(
    hass: HomeAssistant, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A second instance in the same process does not inherit the first's budget."""
    await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    first = client_state(hass).jsecoin_budget(ALICE["api_key"])
    spent_by_first = sandbox.request_count("jsecoin")
    assert spent_by_first > 0
    assert first.remaining == RATE_LIMIT_REQUESTS - spent_by_first

    # A configuration directory of its own: setup installs blueprints into it.
    async with async_test_home_assistant(config_dir=str(tmp_path / "other")) as other:
        other.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # as for the first instance
        assert CLIENT_STATE not in other.data
        await setup_entry(other, jsecoin_entry(sandbox, ALICE))
        second = client_state(other).jsecoin_budget(ALICE["api_key"])
        spent_by_second = sandbox.request_count("jsecoin") - spent_by_first
        await other.async_stop(force=True)

    assert second is not first
    assert spent_by_second > 0
    assert second.remaining == RATE_LIMIT_REQUESTS - spent_by_second
    assert first.remaining == RATE_LIMIT_REQUESTS - spent_by_first


@pytest.mark.parametrize("secret", [ALICE["api_key"], JOHN["api_key"]])
async def test_client_state_is_keyed_without_secrets(
    hass: HomeAssistant, sandbox: Sandbox, secret: str
) -> None:
    """The registry holds fingerprints of the credentials, never the credentials."""
    await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await setup_entry(hass, coinsoftworks_entry(sandbox))
    state = client_state(hass)

    keys = [*state.jsecoin_budgets, *state.coinsoftworks_tokens]
    assert len(keys) == 2
    assert not any(secret in key or JOHN["access_token"] in key for key in keys)
    assert state.coinsoftworks_token_cache(JOHN["api_key"], "1_another") is not (
        state.coinsoftworks_token_cache(JOHN["api_key"], JOHN["access_token"])
    )
