"""The only place the reliability tests reach past Home Assistant's public surface.

Everything else in ``tests/reliability`` drives CoinHub through states, events, config
entry states, flows and actions, so a change of the integration's inner layout needs
changes here only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import aiohttp
from pytest_homeassistant_custom_component.common import MockConfigEntry


@contextmanager
def fresh_client_state() -> Generator[None]:
    """Start without request budgets or bearer tokens another test left behind.

    The clients keep one budget per JSEcoin key and one bearer cache per coinsoftworks
    account for the whole process; a fresh sandbox must not inherit them.
    """
    from custom_components.coinhub.api.coinsoftworks import (
        client as coinsoftworks_client,
    )
    from custom_components.coinhub.api.jsecoin import (
        client as jsecoin_client,
    )

    with (
        patch.dict(jsecoin_client._BUDGETS, clear=True),
        patch.dict(coinsoftworks_client._TOKEN_CACHES, clear=True),
    ):
        yield


def _client(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.client


def shorten_request_timeout(entry: MockConfigEntry, seconds: float) -> None:
    """Make the entry's client give up after ``seconds``, so a slow answer is quick to test."""
    _client(entry)._timeout = aiohttp.ClientTimeout(total=seconds)


def pass_client_time(entry: MockConfigEntry, seconds: float) -> None:
    """Let ``seconds`` pass for the JSEcoin request budget, which runs on the monotonic clock.

    Home Assistant's scheduler is moved by the tests; the budget's own clock is real, so a
    wait the provider asked for would otherwise last for real.
    """
    budget = _client(entry).budget
    clock: Callable[[], float] = budget._clock
    budget._clock = lambda: clock() + seconds


def speed_up_execution_monitor() -> Any:
    """Read running coinsoftworks executions at short pauses (the sandbox clock moves)."""
    return patch(
        "custom_components.coinhub.coordinator.EXECUTION_MONITOR_FIRST_DELAY", 0.01
    )


def budget_follows_loop_clock(entry: MockConfigEntry) -> None:
    """Make a JSEcoin entry's request budget count time on the (frozen) event loop clock.

    The budget reads the monotonic clock it was created with; under ``freezer`` the
    simulated day must pass for it too.
    """
    if (budget := getattr(_client(entry), "budget", None)) is not None:
        budget._clock = asyncio.get_running_loop().time
