"""Shared pieces of the reliability tests: the ``slow`` marker, polling, logs, secrets.

The tests here drive CoinHub only through Home Assistant's public surface; the few
things they need from inside the integration live in :mod:`tests.reliability.internals`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta
import logging
import random
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.coinhub.const import DOMAIN
from sandbox import SandboxContext, create_app
from tests.components.sandbox_entries import (
    ALICE,
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
    seed,
    transfers_allowed,
)
from tests.conftest import Sandbox

PROVIDERS = ("jsecoin", "coinetize", "coinsoftworks")
INTEGRATION_LOGGER = "custom_components.coinhub"
# Longer than every provider's polling interval: one call runs one round of polls.
ONE_ROUND = timedelta(minutes=11)
SHOP = seed("coinetize")["websites"][0]

# The entity each provider's entry is watched through.
WATCHED = {
    "jsecoin": "sensor.jsecoin_123_balance",
    "coinetize": "binary_sensor.shop_example_com_verified",
    "coinsoftworks": "sensor.coinsoftworks_johncb5496_purchased_plan",
}


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``slow`` marker: the load tests run with ``scripts/test --slow``."""
    config.addinivalue_line(
        "markers", "slow: long reliability tests, run by scripts/test --slow"
    )


class SandboxServer:
    """The sandbox's listening socket, which a test can close and open again.

    Closing it is a provider whose server is down: connections are refused.
    """

    def __init__(self, server: TestServer) -> None:
        """Control ``server``."""
        self._server = server

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        runner = self._server.runner
        assert runner is not None
        for site in list(runner.sites):
            await site.stop()
        assert runner.server is not None
        for connection in list(runner.server.connections):
            connection.force_close()

    async def start(self) -> None:
        """Listen again on the same port, with the providers' state kept."""
        runner = self._server.runner
        assert runner is not None
        assert self._server.port is not None
        await web.TCPSite(runner, "127.0.0.1", self._server.port).start()


@pytest.fixture
async def served(
    sandbox_seed: dict[str, Any], socket_enabled: None
) -> AsyncGenerator[tuple[Sandbox, SandboxServer]]:
    """The sandbox on 127.0.0.1, and control of its listening socket."""
    context = SandboxContext(seed=sandbox_seed, rng=random.Random(1234))
    # No access log: request lines carry credentials in paths and query strings.
    server = TestServer(create_app(context), host="127.0.0.1")
    await server.start_server(access_log=None)
    try:
        yield Sandbox(url=server.make_url("/"), context=context), SandboxServer(server)
    finally:
        await server.close()


@pytest.fixture
def sandbox(served: tuple[Sandbox, SandboxServer]) -> Sandbox:
    """The sandbox of :func:`served`."""
    return served[0]


@pytest.fixture
def sandbox_server(served: tuple[Sandbox, SandboxServer]) -> SandboxServer:
    """Control of the sandbox's listening socket."""
    return served[1]


def provider_entry(sandbox: Sandbox, provider: str) -> MockConfigEntry:
    """Return the watched entry of ``provider`` against the sandbox."""
    if provider == "jsecoin":
        return jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
    if provider == "coinetize":
        website = {
            key: SHOP.get(key)
            for key in ("website", "link_method", "verification_code", "protocol")
        }
        return coinetize_entry(
            sandbox, websites={SHOP["subdomain"]: {**website, "verified": True}}
        )
    return coinsoftworks_entry(sandbox)


async def poll(hass: HomeAssistant, interval: timedelta = ONE_ROUND) -> None:
    """Run the polls due within ``interval`` from now and wait for them.

    Time is not frozen: the sandbox serves real sockets. Every refresh schedules the
    next one from the real now, so each call runs one more round.
    """
    async_fire_time_changed(hass, dt_util.utcnow() + interval)
    await hass.async_block_till_done(wait_background_tasks=True)


def available(hass: HomeAssistant, entity_id: str) -> bool:
    """Tell whether an entity exists and is available."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state != STATE_UNAVAILABLE


def integration_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return what the integration logged at INFO and above, since the last clear."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith(INTEGRATION_LOGGER) and record.levelno >= logging.INFO
    ]


def sandbox_secrets() -> list[str]:
    """Return every credential of the sandbox's seeded accounts."""
    return [
        *(account["api_key"] for account in seed("jsecoin")["accounts"]),
        *(user["auth_token"] for user in seed("coinetize")["users"]),
        *(account["api_key"] for account in seed("coinsoftworks")["accounts"]),
        *(account["access_token"] for account in seed("coinsoftworks")["accounts"]),
    ]


def assert_no_secret_logged(
    caplog: pytest.LogCaptureFixture, secrets: list[str], extra: Any = ()
) -> None:
    """No log line of the whole test carries a credential."""
    text = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (*secrets, *extra):
        assert secret not in text


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    """Return the reauthentication flows in progress for CoinHub."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == "reauth"
    ]
