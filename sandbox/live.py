"""Live mode: the sandbox moves on its own, so a demo has something to watch.

Every tick the JSEcoin demo account (the first one with write access) earns a mining
reward and its tracked sites earn a little; every few ticks a second account sends it a
payment. JSEcoin blocks follow the clock by themselves, and coinsoftworks executions finish
by themselves once started. Everything goes through the sandbox's own HTTP API, as a test
would steer it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
from decimal import Decimal
import logging
import random
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from yarl import URL

_LOGGER = logging.getLogger(__name__)

JSECOIN_API = "/jsecoin/server/api"
JSECOIN_ADMIN = "/_admin/jsecoin"
# An incoming payment every this many ticks.
PAYMENT_EVERY = 3


@dataclass
class LiveMode:
    """Moves the sandbox served at ``url`` forward every ``interval`` seconds."""

    url: URL
    interval: float
    rng: random.Random

    async def run(self) -> None:
        """Tick until cancelled; a failed tick is logged and the next one tried."""
        async with aiohttp.ClientSession() as session:
            tick = 0
            while True:
                await asyncio.sleep(self.interval)
                tick += 1
                try:
                    await self.tick(session, tick)
                except (aiohttp.ClientError, LookupError, ValueError) as err:
                    _LOGGER.warning("Live tick %s failed: %s", tick, err)

    async def tick(self, session: aiohttp.ClientSession, tick: int) -> None:
        """Credit a reward and site earnings; every few ticks, an incoming payment."""
        accounts = await self._json(session, "GET", f"{JSECOIN_ADMIN}/accounts")
        writers = [a for a in accounts if a["access_level"] >= 2]
        receiver = writers[0]
        reward = self._amount(Decimal("0.01"), Decimal("0.25"))
        await self._json(
            session,
            "POST",
            f"{JSECOIN_ADMIN}/accounts/{receiver['name']}/mine",
            {"value": str(reward)},
        )
        for lookup, balance in receiver["lookups"].items():
            earned = Decimal(balance) + self._amount(Decimal("0"), Decimal("0.05"))
            await self._json(
                session,
                "POST",
                f"{JSECOIN_ADMIN}/accounts/{receiver['name']}/balance",
                {"lookup": lookup, "value": str(earned)},
            )
        _LOGGER.info("Live: %s mined %s JSE", receiver["name"], reward)
        if tick % PAYMENT_EVERY == 0 and len(writers) > 1:
            await self._pay(session, writers[1], receiver)

    async def _pay(
        self,
        session: aiohttp.ClientSession,
        payer: dict[str, Any],
        receiver: dict[str, Any],
    ) -> None:
        """Send ``receiver`` a payment from ``payer`` through the public API."""
        amount = self._amount(Decimal("0.5"), Decimal("2.5"))
        # The payer mines first, so it never runs dry however long the demo runs.
        await self._json(
            session,
            "POST",
            f"{JSECOIN_ADMIN}/accounts/{payer['name']}/mine",
            {"value": str(amount)},
        )
        path = "/".join(
            quote(part, safe="")
            for part in (payer["api_key"], receiver["email"], str(amount), "tip")
        )
        answer = await self._json(session, "GET", f"{JSECOIN_API}/transfer/{path}/")
        if answer.get("success") != 1:
            raise ValueError(f"payment refused: {answer.get('notification')}")
        _LOGGER.info("Live: %s paid %s %s JSE", payer["name"], receiver["name"], amount)

    def _amount(self, low: Decimal, high: Decimal) -> Decimal:
        """Return a random amount between ``low`` and ``high`` with 4 decimals."""
        return (low + (high - low) * Decimal(self.rng.random())).quantize(
            Decimal("0.0001")
        )

    async def _json(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
    ) -> Any:
        async with session.request(
            method, self.url.with_path(path, encoded=True), json=body
        ) as response:
            response.raise_for_status()
            # JSEcoin answers JSON labelled as HTML, as the real provider does.
            return await response.json(content_type=None)


def live_context(
    url: URL, interval: float, rng: random.Random
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Return an aiohttp cleanup context that runs live mode beside the server."""

    async def run_beside(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(LiveMode(url, interval, rng).run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run_beside
