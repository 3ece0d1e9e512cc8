"""Restarts in the worst moment: Home Assistant stops (the entry unloads, storage
stays) while a request is between the provider and CoinHub, then starts again.

The sandbox's ``slow_answer`` fault applies a request at once and holds its answer,
so the restart falls exactly after the provider acted and before CoinHub heard.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.coinhub.const import EVENT_ACTION_FINISHED, EVENT_TRANSACTION
from tests.components.conftest import call_action, setup_entry
from tests.conftest import Sandbox

from .conftest import ONE_ROUND, available, poll, provider_entry
from .internals import speed_up_execution_monitor

HELD_ANSWER_SECONDS = 1.0


async def hold_answers(sandbox: Sandbox, provider: str, path: str) -> None:
    """Apply the next matching request at once and answer it a second later."""
    await sandbox.admin(
        "POST",
        "/faults",
        {
            "kind": "slow_answer",
            "provider": provider,
            "path": path,
            "seconds": HELD_ANSWER_SECONDS,
            "count": 1,
        },
    )


async def until_received(
    sandbox: Sandbox, provider: str, fragment: str, count: int
) -> None:
    """Wait until the sandbox received ``count`` requests to a route."""
    while sandbox.route_count(provider, fragment) < count:  # noqa: ASYNC110 - no event to wait on
        await asyncio.sleep(0.01)


async def restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Stop the entry (storage kept) and start it again."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await asyncio.sleep(HELD_ANSWER_SECONDS)  # the held answer arrives while stopped
    await hass.async_block_till_done(wait_background_tasks=True)
    await setup_entry(hass, entry)


async def test_poll_that_found_new_history(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A reward read by a poll cut short by the restart is announced once."""
    entry = await setup_entry(hass, provider_entry(sandbox, "jsecoin"))
    events = async_capture_events(hass, EVENT_TRANSACTION)
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"})
    reads = sandbox.route_count("jsecoin", "/history/")
    await hold_answers(sandbox, "jsecoin", "/history/")
    async_fire_time_changed(hass, dt_util.utcnow() + ONE_ROUND)
    await until_received(sandbox, "jsecoin", "/history/", reads + 1)

    await restart(hass, entry)
    await poll(hass)
    await poll(hass)
    assert [(e.data["command"], e.data["value"]) for e in events] == [("mining", 0.5)]
    assert available(hass, "sensor.jsecoin_123_balance")


async def test_link_website_answered_while_stopped(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A link Coinetize handed out just before the stop is known after the start."""
    entry = await setup_entry(hass, provider_entry(sandbox, "coinetize"))
    await hold_answers(sandbox, "coinetize", "/link_website")
    action = asyncio.ensure_future(
        call_action(
            hass,
            "link_website",
            entry,
            website="late.example.net",
            link_method="proxy",
            protocol="https",
        )
    )
    await until_received(sandbox, "coinetize", "/link_website", 1)
    await restart(hass, entry)
    await asyncio.wait({action})

    by_owner = await sandbox.admin("GET", "/coinetize/websites")
    linked = [
        site for site in by_owner["webmaster"] if site["website"] == "late.example.net"
    ]
    assert len(linked) == 1  # linked once
    state = hass.states.get("binary_sensor.late_example_net_verified")
    assert state is not None  # and known after the start
    await poll(hass)
    assert available(hass, "binary_sensor.late_example_net_verified")


async def test_execution_running_over_a_restart_is_announced_once(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """The execution is followed to its end after the start, and announced once."""
    with speed_up_execution_monitor():
        entry = await setup_entry(hass, provider_entry(sandbox, "coinsoftworks"))
        events = async_capture_events(hass, EVENT_ACTION_FINISHED)
        started = await call_action(
            hass, "execute_action", entry, action="Claim mining rewards", wait=False
        )
        assert started["status"] in {"queued", "running"}
        await restart(hass, entry)
        sandbox.context.clock.advance(60)
        for _ in range(3):
            async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
            await hass.async_block_till_done(wait_background_tasks=True)
        await poll(hass)
    assert [(e.data["execution_id"], e.data["status"]) for e in events] == [
        (started["execution_id"], "completed")
    ]
