"""The only place the reliability tests reach past Home Assistant's public surface.

Everything else in ``tests/reliability`` drives CoinHub through states, events, config
entry states, flows and actions, so a change of the integration's inner layout needs
changes here only.
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import Any
from unittest.mock import patch

import aiohttp
from pytest_homeassistant_custom_component.common import MockConfigEntry


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
    clock: Callable[[], float] = budget._clock or time.monotonic
    budget._clock = lambda: clock() + seconds


def speed_up_execution_monitor() -> Any:
    """Read running coinsoftworks executions at short pauses (the sandbox clock moves)."""
    return patch(
        "custom_components.coinhub.coordinator.coinsoftworks.EXECUTION_MONITOR_FIRST_DELAY",
        0.01,
    )
