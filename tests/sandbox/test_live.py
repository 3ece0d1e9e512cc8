"""Live mode: the sandbox earns, pays and keeps going on its own for the demo."""

from __future__ import annotations

import asyncio
from decimal import Decimal
import logging
import random
from typing import Any
from unittest.mock import patch

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
import pytest
from yarl import URL

from sandbox import SandboxContext, create_app
from sandbox.__main__ import main
from sandbox.live import PAYMENT_EVERY, LiveMode, live_context


async def _admin(session: ClientSession, server: TestServer, path: str) -> Any:
    async with session.get(server.make_url(f"/_admin/jsecoin{path}")) as response:
        return await response.json()


async def test_ticks_mine_earn_on_sites_and_bring_a_payment(
    socket_enabled: None,
) -> None:
    server = TestServer(create_app(SandboxContext(seed={})), host="127.0.0.1")
    await server.start_server()
    live = LiveMode(server.make_url("/"), 60, random.Random(1))
    try:
        async with ClientSession() as session:
            before = await _admin(session, server, "/accounts/alice")
            for tick in range(1, PAYMENT_EVERY + 1):
                await live.tick(session, tick)
            after = await _admin(session, server, "/accounts/alice")
            history = await _admin(session, server, "/accounts/alice/history")
    finally:
        await server.close()
    commands = [entry["command"] for entry in history.values()]
    # The seed's 3 entries, 3 rewards and one payment (a transfer on alice's side).
    assert commands.count("mining") == 2 + PAYMENT_EVERY
    assert commands.count("transfer") == 2
    assert Decimal(after["balance"]) > Decimal(before["balance"])
    for lookup, balance in before["lookups"].items():
        assert Decimal(after["lookups"][lookup]) >= Decimal(balance)
    assert after["lookups"] != before["lookups"]


async def test_a_failed_tick_is_logged_and_the_next_one_runs(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    server = TestServer(create_app(SandboxContext(seed={})), host="127.0.0.1")
    await server.start_server()
    url = server.make_url("/")
    # Nothing answers any more: every tick fails, and live mode keeps ticking.
    await server.close()
    live = LiveMode(url, 0.01, random.Random(1))
    with caplog.at_level(logging.WARNING, logger="sandbox.live"):
        task = asyncio.create_task(live.run())
        for _ in range(500):
            if caplog.text.count("Live tick") >= 2:
                break
            await asyncio.sleep(0.01)
        task.cancel()
    assert "Live tick 1 failed" in caplog.text
    assert "Live tick 2 failed" in caplog.text


async def test_a_refused_payment_fails_the_tick(socket_enabled: None) -> None:
    context = SandboxContext(seed={})
    server = TestServer(create_app(context), host="127.0.0.1")
    await server.start_server()
    live = LiveMode(server.make_url("/"), 60, random.Random(1))
    try:
        async with ClientSession() as session:
            # bob may not send: the provider refuses and the tick says why.
            async with session.post(
                server.make_url("/_admin/jsecoin/accounts/bob/daily_limit"),
                json={"value": 0},
            ):
                pass
            with pytest.raises(ValueError, match="payment refused"):
                await live.tick(session, PAYMENT_EVERY)
    finally:
        await server.close()


async def test_live_context_runs_beside_the_server_and_stops_with_it(
    socket_enabled: None,
) -> None:
    app = create_app(SandboxContext(seed={}))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = server.make_url("/")
    runner = web.AppRunner(create_app(SandboxContext(seed={})))
    runner.app.cleanup_ctx.append(live_context(url, 0.01, random.Random(1)))
    await runner.setup()
    try:
        async with ClientSession() as session:
            for _ in range(500):
                history = await _admin(session, server, "/accounts/alice/history")
                if len(history) > 3:
                    break
                await asyncio.sleep(0.01)
    finally:
        await runner.cleanup()
        await server.close()
    assert len(history) > 3


def test_main_with_live_runs_live_mode_against_its_own_address() -> None:
    with (
        patch("sandbox.__main__.web.run_app") as run_app,
        patch("sandbox.__main__.live_context") as live_context_factory,
    ):
        main(["--port", "9998", "--live", "5"])
    url, interval, _rng = live_context_factory.call_args.args
    assert (url, interval) == (URL("http://127.0.0.1:9998"), 5)
    app: web.Application = run_app.call_args.args[0]
    assert live_context_factory.return_value in app.cleanup_ctx
