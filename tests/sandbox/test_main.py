"""The sandbox's command line: arguments, seed file and a route-only access log."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
import pytest

from sandbox import SandboxContext, create_app
from sandbox.__main__ import RouteAccessLogger, main


def test_main_serves_the_seeded_sandbox_on_the_given_address(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps({"coinetize": {"users": []}}))
    with patch("sandbox.__main__.web.run_app") as run_app:
        main(["--host", "127.0.0.1", "--port", "9999", "--seed-file", str(seed_file)])
    app: web.Application = run_app.call_args.args[0]
    kwargs: dict[str, Any] = run_app.call_args.kwargs
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 9999)
    assert kwargs["access_log_class"] is RouteAccessLogger
    assert {resource.canonical for resource in app.router.resources()} >= {
        "/jsecoin/server/api",
        "/coinetize",
        "/coinsoftworks/_functions",
        "/_admin",
    }


async def test_access_log_names_routes_never_raw_paths(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sandbox-jse-alice-write-0000000000000001"
    server = TestServer(create_app(SandboxContext(seed={})), host="127.0.0.1")
    await server.start_server(access_log_class=RouteAccessLogger)
    try:
        with caplog.at_level(logging.INFO, logger="aiohttp.access"):
            async with ClientSession() as session:
                await session.get(
                    server.make_url(f"/jsecoin/server/api/balance/{key}/0/")
                )
                await session.get(server.make_url(f"/nowhere/{key}?token={key}"))
    finally:
        await server.close()
    assert "GET /jsecoin/server/api/balance/{key}/{lookup}/ -> 200" in caplog.text
    assert "(unrouted)" in caplog.text
    assert key not in caplog.text
