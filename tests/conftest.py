"""Fixtures shared by every test: custom integrations enabled, a sandbox on loopback."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
import random
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
import pytest
from yarl import URL

from sandbox import SandboxContext, create_app
from sandbox.app import PROVIDERS


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/coinhub."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A configuration directory per test: setup installs blueprints into it."""
    return hass_tmp_config_dir


@dataclass
class Sandbox:
    """A running sandbox: its base URL and its state, for assertions and time travel."""

    url: URL
    context: SandboxContext

    def base_url(self, provider: str) -> str:
        """Return the base URL a client of ``provider`` should use."""
        prefix, _factory = PROVIDERS[provider]
        return str(self.url.with_path(prefix))

    def request_count(self, provider: str | None = None) -> int:
        """Count the provider requests the sandbox has received."""
        return sum(
            count
            for (name, _method, _route), count in self.context.requests.items()
            if provider is None or name == provider
        )

    def route_count(
        self, provider: str, fragment: str, method: str | None = None
    ) -> int:
        """Count the requests to ``provider`` whose route template holds ``fragment``.

        With ``method``, only the requests of that HTTP method count.
        """
        return sum(
            count
            for (name, request_method, route), count in self.context.requests.items()
            if name == provider
            and fragment in route
            and (method is None or request_method == method)
        )

    async def admin(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        """Call the sandbox's admin API and return its JSON answer."""
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, self.url.with_path(f"/_admin{path}"), json=body
            ) as response,
        ):
            response.raise_for_status()
            return await response.json()


@pytest.fixture
def sandbox_seed() -> dict[str, Any]:
    """Seed sections replacing a provider's default seed; empty means the defaults."""
    return {}


@pytest.fixture
async def sandbox(
    sandbox_seed: dict[str, Any], socket_enabled: None
) -> AsyncGenerator[Sandbox]:
    """Serve the sandbox on 127.0.0.1 (the only address tests may reach)."""
    context = SandboxContext(seed=sandbox_seed, rng=random.Random(1234))
    # No access log: request lines carry credentials in paths and query strings.
    server = TestServer(create_app(context), host="127.0.0.1")
    await server.start_server(access_log=None)
    try:
        yield Sandbox(url=server.make_url("/"), context=context)
    finally:
        await server.close()
