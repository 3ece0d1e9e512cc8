"""The sandbox's shared admin API: faults, clock and request counts."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.conftest import Sandbox


async def test_fault_rules_can_be_added_listed_and_cleared(sandbox: Sandbox) -> None:
    async with ClientSession() as session:
        admin = sandbox.url / "_admin" / "faults"
        resp = await session.post(
            admin, json={"kind": "latency", "seconds": 0.01, "count": 2}
        )
        assert resp.status == 201
        rules = await (await session.get(admin)).json()
        assert rules[0]["kind"] == "latency"
        assert rules[0]["count"] == 2
        bad = await session.post(admin, json={"kind": "explode"})
        assert bad.status == 400
        unknown = await session.post(admin, json={"kind": "status", "colour": "red"})
        assert unknown.status == 400
        await session.delete(admin)
        assert await (await session.get(admin)).json() == []


async def test_clock_only_moves_forward(sandbox: Sandbox) -> None:
    before = sandbox.context.clock.now()
    async with ClientSession() as session:
        resp = await session.post(
            sandbox.url / "_admin" / "clock" / "advance", json={"seconds": 3600}
        )
        assert resp.status == 200
        assert (await resp.json())["now"] >= before + 3600
        resp = await session.post(
            sandbox.url / "_admin" / "clock" / "advance", json={"seconds": -1}
        )
        assert resp.status == 400
    assert sandbox.context.clock.now() >= before + 3600


async def test_request_counts_name_routes_never_credentials(sandbox: Sandbox) -> None:
    """The admin API lists provider requests by route template, and can clear them."""
    async with ClientSession() as session:
        await session.get(
            sandbox.base_url("jsecoin") + "/balance/auth/0/",
            headers={"Authorization": "sandbox-jse-secret-key"},
        )
    counted = await sandbox.admin("GET", "/requests")
    assert counted == [
        {
            "provider": "jsecoin",
            "method": "GET",
            "route": "/jsecoin/server/api/balance/{key}/{lookup}/",
            "count": 1,
        }
    ]
    assert "secret" not in str(counted)
    assert await sandbox.admin("DELETE", "/requests") == []
    assert await sandbox.admin("GET", "/requests") == []
