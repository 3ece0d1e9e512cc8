"""Load in simulated time: 50 accounts of the three providers polled for 24 hours.

Home Assistant's clock, the event loop's clock and the sandbox's clock are frozen and
moved a minute at a time (``freezer``), so every coordinator polls at its own pace
for a whole simulated day in a couple of minutes. Mining rewards arrive throughout.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import gc
import logging
import os
from pathlib import Path
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    get_scheduled_timer_handles,
)

from custom_components.coinhub.const import EVENT_TRANSACTION
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
    seed,
)
from tests.conftest import Sandbox

from .conftest import available, integration_lines

JSECOIN_ACCOUNTS = 17
COINETIZE_ACCOUNTS = 17
COINSOFTWORKS_ACCOUNTS = 16
SIMULATED = timedelta(hours=24)
STEP = timedelta(minutes=1)
REWARD_EVERY_STEPS = 7  # a mining reward somewhere every 7 simulated minutes
MEMORY_GROWTH_LIMIT_MIB = 8


def jsecoin_account(index: int) -> dict[str, Any]:
    """Return a JSEcoin account of the load test."""
    return {
        "name": f"load{index}",
        "uid": 9000 + index,
        "email": f"load{index}@example.com",
        "public_key": f"04{index:0128x}",
        "api_key": f"sandbox-jse-load-{index:04d}-000000000000",
        "access_level": 1,
        "balance": "100",
        "lookups": {},
        "history": [{"command": "mining", "value": "0.25", "seconds_ago": 600}],
    }


def coinetize_user(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return a Coinetize user of the load test and their verified website."""
    user = {"username": f"loaduser{index}", "auth_token": f"sandbox-load-{index:04d}"}
    website = {
        "subdomain": f"site-load{index:03d}",
        "owner": user["username"],
        "website": f"load{index}.example.com",
        "link_method": "proxy",
        "protocol": "https",
        "verification_code": f"{index:032x}",
        "link_verification_filename": f"coinetize-load{index}",
        "verified": True,
        "published": [f"coinetize-load{index}"],
        "enabled_paths": ["/"],
        "deleted_paths": [],
    }
    return user, website


def coinsoftworks_account(index: int) -> dict[str, Any]:
    """Return a coinsoftworks account of the load test."""
    template = seed("coinsoftworks")["accounts"][1]
    return {
        **template,
        "api_key": f"sandbox-csw-key-load{index:03d}",
        "access_token": f"1_sandbox-load-token-{index:03d}",
        "username": f"Load{index}",
    }


@pytest.fixture
def sandbox_seed() -> dict[str, Any]:
    """Seeds holding the load test's 50 accounts."""
    coinetize = [coinetize_user(index) for index in range(COINETIZE_ACCOUNTS)]
    return {
        "jsecoin": {
            **seed("jsecoin"),
            "accounts": [jsecoin_account(index) for index in range(JSECOIN_ACCOUNTS)],
        },
        "coinetize": {
            **seed("coinetize"),
            "users": [user for user, _ in coinetize],
            "websites": [website for _, website in coinetize],
        },
        "coinsoftworks": {
            **seed("coinsoftworks"),
            "accounts": [
                coinsoftworks_account(index) for index in range(COINSOFTWORKS_ACCOUNTS)
            ],
        },
    }


def load_entries(sandbox: Sandbox, seeds: dict[str, Any]) -> list[MockConfigEntry]:
    """Return the 50 config entries of the seeded accounts."""
    entries = [
        jsecoin_entry(sandbox, account) for account in seeds["jsecoin"]["accounts"]
    ]
    for user, website in zip(
        seeds["coinetize"]["users"], seeds["coinetize"]["websites"], strict=True
    ):
        stored = {
            key: website[key]
            for key in ("website", "link_method", "verification_code", "protocol")
        }
        entries.append(
            coinetize_entry(
                sandbox,
                user,
                websites={website["subdomain"]: {**stored, "verified": True}},
            )
        )
    entries.extend(
        coinsoftworks_entry(sandbox, account)
        for account in seeds["coinsoftworks"]["accounts"]
    )
    return entries


def resident_mib() -> float:
    """Return this process's resident memory, after a full garbage collection."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


def coinhub_timers(hass: HomeAssistant) -> list[str]:
    """Return the pending timers that would call into CoinHub (its coordinators)."""
    names = (
        repr(handle._callback)
        for handle in get_scheduled_timer_handles(hass.loop)
        if not handle.cancelled()
    )
    return [name for name in names if "coinhub" in name or "Coordinator" in name]


def open_sessions() -> int:
    """Count the aiohttp client sessions that are not closed."""
    return sum(
        1
        for item in gc.get_objects()
        if isinstance(item, aiohttp.ClientSession) and not item.closed
    )


def coinhub_tasks() -> list[asyncio.Task[Any]]:
    """Return the running tasks CoinHub started (they carry its name)."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and "coinhub" in task.get_name()
    ]


@pytest.mark.slow
@pytest.mark.timeout(480)
async def test_fifty_accounts_for_a_simulated_day(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_seed: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every key within its limit, every reward announced once, nothing left behind."""
    caplog.set_level(logging.INFO)
    # Debug mode records a traceback for every callback: too slow for a day of polls.
    hass.loop.set_debug(False)
    sessions_before = open_sessions()
    entries = load_entries(sandbox, sandbox_seed)
    assert len(entries) == 50
    for entry in entries:
        await setup_entry(hass, entry)
    # Fifty entries share Home Assistant's one client session.
    sessions_in_use = open_sessions()
    assert sessions_in_use <= sessions_before + 1
    events = async_capture_events(hass, EVENT_TRANSACTION)
    names = [account["name"] for account in sandbox_seed["jsecoin"]["accounts"]]
    rewarded: list[str] = []
    caplog.clear()

    started = os.times().elapsed  # freezer leaves this clock alone
    steps = int(SIMULATED / STEP)
    first_hour_mib = 0.0
    for step in range(1, steps + 1):
        if step % REWARD_EVERY_STEPS == 0:
            name = names[(step // REWARD_EVERY_STEPS) % len(names)]
            answer = await sandbox.admin(
                "POST", f"/jsecoin/accounts/{name}/mine", {"value": "0.01"}
            )
            rewarded.append(answer["tid"])
        freezer.tick(STEP)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        if step == 60:
            first_hour_mib = resident_mib()
    # Rewards of the last minutes are read on the next poll.
    for _ in range(2):
        freezer.tick(STEP)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    elapsed = os.times().elapsed - started
    end_mib = resident_mib()

    requests = {
        provider: sandbox.request_count(provider)
        for provider in ("jsecoin", "coinetize", "coinsoftworks")
    }
    print(  # noqa: T201 - the figures the README quotes
        f"\n50 entries, {SIMULATED} simulated in {elapsed:.1f} s: "
        f"requests {requests}, {len(rewarded)} rewards, {len(events)} events; "
        f"memory after the first hour {first_hour_mib:.1f} MiB, "
        f"at the end {end_mib:.1f} MiB"
    )
    # No refusal, timeout or limit in a whole day: every key stayed within its limit.
    assert integration_lines(caplog) == []
    for entry in entries:
        assert entry.state is ConfigEntryState.LOADED
    assert all(available(hass, state.entity_id) for state in hass.states.async_all())
    announced = [event.data["id"] for event in events]
    assert sorted(announced) == sorted(rewarded)
    assert end_mib - first_hour_mib < MEMORY_GROWTH_LIMIT_MIB

    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coinhub_tasks() == []
    assert coinhub_timers(hass) == []
    assert open_sessions() <= sessions_in_use
