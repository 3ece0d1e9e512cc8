"""Twenty concurrent transfers of one account, connections dropped at random.

The sandbox drops a third of the transfer connections, before the request reaches the
provider or after it applied it, and the entry is reloaded (a restart) while calls are
still queued. Whatever happens, each transfer is sent at most once, the balance moves
by exactly what CoinHub reported as sent, the daily limit holds across the restart, and
each transfer that moved is announced once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import REQUEST_REFRESH_DEFAULT_COOLDOWN
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.coinhub.const import EVENT_TRANSACTION
from tests.components.conftest import call_action, setup_entry
from tests.components.sandbox_entries import BOB, jsecoin_entry, seed, transfers_allowed
from tests.conftest import Sandbox

from .conftest import ALICE, assert_no_secret_logged, poll, sandbox_secrets

CALLS = 20
AMOUNT = Decimal(40)
DAILY_LIMIT = Decimal(500)  # transfers_allowed(): less than CALLS * AMOUNT
RESTART_AFTER_SENDS = 6


@pytest.fixture
def sandbox_seed() -> dict[str, Any]:
    """Short JSEcoin blocks (the lock after each write lasts a second, not thirty), and
    Alice rich enough that only the daily limit stops her transfers."""
    jsecoin = seed("jsecoin")
    accounts = [
        {**account, "balance": "1000"} if account["name"] == "alice" else account
        for account in jsecoin["accounts"]
    ]
    return {"jsecoin": {**jsecoin, "block_seconds": 0.2, "accounts": accounts}}


async def alice_history(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Return Alice's history entries as the sandbox holds them."""
    history = await sandbox.admin("GET", "/jsecoin/accounts/alice/history")
    return list((history or {}).values())


async def alice_balance(sandbox: Sandbox) -> Decimal:
    """Return Alice's balance as the sandbox holds it."""
    return Decimal((await sandbox.admin("GET", "/jsecoin/accounts/alice"))["balance"])


async def transfer(hass: HomeAssistant, entry: Any, reference: str) -> str:
    """Call ``coinhub.transfer``; return "sent" or the translation key of the error."""
    try:
        response = await call_action(
            hass,
            "transfer",
            entry,
            recipient=BOB["email"],
            amount=float(AMOUNT),
            reference=reference,
        )
    except HomeAssistantError as err:
        return str(err.translation_key)
    assert response["status"] == "sent"
    return "sent"


@dataclass
class Run:
    """What twenty concurrent transfers did, seen from CoinHub and from the provider."""

    outcomes: dict[str, str]  # reference -> "sent" or the error's translation key
    moved: list[str]  # references in the account's history
    amount_moved: Decimal
    announced: list[str]  # references of the transfer events

    @property
    def reported_sent(self) -> list[str]:
        """Return the references CoinHub answered as sent."""
        return [ref for ref, outcome in self.outcomes.items() if outcome == "sent"]


async def run_transfers(hass: HomeAssistant, sandbox: Sandbox, *, restart: bool) -> Run:
    """Fire twenty transfers at once, connections dropped at random, maybe a restart."""
    entry = await setup_entry(
        hass, jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
    )
    events = async_capture_events(hass, EVENT_TRANSACTION)
    for kind in ("drop_before", "drop_after_apply"):
        await sandbox.admin(
            "POST",
            "/faults",
            {
                "kind": kind,
                "provider": "jsecoin",
                "path": "/transfer/",
                "probability": 0.17,
            },
        )
    before = await alice_balance(sandbox)

    references = [f"load-{index:02d}" for index in range(CALLS)]
    calls = [
        asyncio.create_task(transfer(hass, entry, reference))
        for reference in references
    ]
    if restart:
        # The sandbox has no event to wait on: look at its request count.
        while sandbox.route_count("jsecoin", "/transfer/") < RESTART_AFTER_SENDS:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        assert await hass.config_entries.async_reload(entry.entry_id)
    outcomes = dict(zip(references, await asyncio.gather(*calls), strict=True))
    await hass.async_block_till_done(wait_background_tasks=True)
    announced_when_the_calls_returned = sum(
        e.data["command"] == "transfer" for e in events
    )
    # A send refreshes the account, but a send within the cooldown of the refresh the
    # send before it asked for is polled when that cooldown ends: let it end.
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=REQUEST_REFRESH_DEFAULT_COOLDOWN)
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    history = await alice_history(sandbox)
    run = Run(
        outcomes=outcomes,
        moved=[e["reference"] for e in history if e.get("reference") in outcomes],
        amount_moved=before - await alice_balance(sandbox),
        announced=[
            e.data["reference"] for e in events if e.data["command"] == "transfer"
        ],
    )
    print(  # noqa: T201 - the figures the README quotes
        f"\n{CALLS} transfers of {AMOUNT}, restart={restart}: "
        f"{len(run.reported_sent)} reported sent, {len(run.moved)} in the history, "
        f"{run.amount_moved} JSE moved, {len(run.announced)} announced "
        f"({announced_when_the_calls_returned} when the last call returned); outcomes "
        f"{dict(Counter(outcomes.values()))}"
    )
    return run


def assert_value_moved_exactly(run: Run) -> None:
    """At most once each, exactly what was reported, within the daily limit."""
    assert len(run.moved) == len(set(run.moved))
    assert sorted(run.moved) == sorted(run.reported_sent)
    assert run.amount_moved == AMOUNT * len(run.reported_sent)
    assert run.amount_moved <= DAILY_LIMIT
    # The limit, not the faults, stopped the last ones.
    assert "daily_limit_reached" in run.outcomes.values()
    assert len(run.reported_sent) == DAILY_LIMIT // AMOUNT


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_concurrent_transfers_with_dropped_connections(
    hass: HomeAssistant, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Serialised, at most once each, balance and limit exact, each announced once."""
    caplog.set_level(logging.INFO)
    run = await run_transfers(hass, sandbox, restart=False)
    assert_value_moved_exactly(run)
    assert sorted(run.announced) == sorted(run.moved)
    assert_no_secret_logged(caplog, sandbox_secrets())


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_concurrent_transfers_across_a_restart(
    hass: HomeAssistant, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A reload while calls are queued lets no value through twice or beyond the limit."""
    caplog.set_level(logging.INFO)
    run = await run_transfers(hass, sandbox, restart=True)
    assert_value_moved_exactly(run)
    assert_no_secret_logged(caplog, sandbox_secrets())


async def test_transfer_answered_after_a_restart_is_announced_once(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A transfer applied whose answer arrives after the entry reloaded: one event."""
    entry = await setup_entry(
        hass, jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
    )
    events = async_capture_events(hass, EVENT_TRANSACTION)
    await sandbox.admin(
        "POST",
        "/faults",
        {"kind": "slow_answer", "path": "/transfer/", "seconds": 1.0, "count": 1},
    )
    sent = asyncio.create_task(transfer(hass, entry, "answered-late"))
    while sandbox.route_count("jsecoin", "/transfer/") < 1:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert await sent == "sent"
    await hass.async_block_till_done(wait_background_tasks=True)
    await poll(hass)

    announced = [e.data["reference"] for e in events if e.data["command"] == "transfer"]
    assert announced == ["answered-late"]


async def test_transfers_queued_over_a_restart_are_announced_once(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Transfers queued over a reload, and one after it: each one event."""
    entry = await setup_entry(
        hass, jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
    )
    events = async_capture_events(hass, EVENT_TRANSACTION)
    queued = [
        asyncio.create_task(transfer(hass, entry, f"queued-{index}"))
        for index in range(3)
    ]
    while sandbox.route_count("jsecoin", "/transfer/") < 1:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert await asyncio.gather(*queued) == ["sent"] * 3
    assert await transfer(hass, entry, "after-restart") == "sent"
    await poll(hass)
    announced = [e.data["reference"] for e in events if e.data["command"] == "transfer"]
    assert sorted(announced) == ["after-restart", "queued-0", "queued-1", "queued-2"]


async def test_transfers_on_both_sides_of_a_restart_share_the_daily_limit(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Ten calls queued before a reload and ten made after it share one daily limit."""
    entry = await setup_entry(
        hass, jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
    )
    before = await alice_balance(sandbox)
    first = [
        asyncio.create_task(transfer(hass, entry, f"before-{index:02d}"))
        for index in range(CALLS // 2)
    ]
    while sandbox.route_count("jsecoin", "/transfer/") < 1:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert await hass.config_entries.async_reload(entry.entry_id)
    second = [
        asyncio.create_task(transfer(hass, entry, f"after-{index:02d}"))
        for index in range(CALLS // 2)
    ]
    outcomes = await asyncio.gather(*first, *second)
    moved = before - await alice_balance(sandbox)
    assert moved == AMOUNT * outcomes.count("sent")
    assert moved <= DAILY_LIMIT
