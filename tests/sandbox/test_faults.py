"""The fault kinds of the sandbox, seen from a plain HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import json
from typing import Any

from aiohttp import ClientError, ClientSession
import pytest

from sandbox.faults import (
    HTML_ERROR_PAGE,
    JSECOIN_GETBLOCK_LIMIT_BODY,
    FaultRule,
)
from tests.components.sandbox_entries import ALICE
from tests.conftest import Sandbox

BALANCE = f"balance/{ALICE['api_key']}/0/"


@pytest.fixture
async def session() -> AsyncGenerator[ClientSession]:
    """A plain HTTP client."""
    async with ClientSession() as client:
        yield client


async def fault(sandbox: Sandbox, **rule: Any) -> None:
    """Add a fault through the admin API, as a test harness would."""
    await sandbox.admin("POST", "/faults", rule)


def balance_url(sandbox: Sandbox) -> str:
    """Return the URL of Alice's JSEcoin balance."""
    return f"{sandbox.base_url('jsecoin')}/{BALANCE}"


async def test_html_error_page_and_empty_body(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """An HTML page and an empty body replace the answer, with their status."""
    await fault(sandbox, kind="html", status=502, count=1)
    await fault(sandbox, kind="empty", status=200, count=1)
    async with session.get(balance_url(sandbox)) as first:
        assert (first.status, first.content_type) == (502, "text/html")
        assert await first.text() == HTML_ERROR_PAGE
    async with session.get(balance_url(sandbox)) as second:
        assert second.status == 200
        assert await second.read() == b""
    async with session.get(balance_url(sandbox)) as healthy:
        assert json.loads(await healthy.text())["balance"] == 250.5


async def test_truncated_json_is_a_complete_answer_cut_short(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """The connection ends cleanly, but the JSON inside is cut in half."""
    await fault(sandbox, kind="truncated_json", count=1)
    async with session.get(balance_url(sandbox)) as response:
        raw = await response.read()
    assert response.status == 200
    assert raw.startswith(b"{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


async def test_wrong_types_keep_the_success_marker(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """Every value but the kept ones changes type; nested values too."""
    await fault(sandbox, kind="wrong_types", count=1)
    async with session.get(balance_url(sandbox)) as response:
        body = json.loads(await response.text())
    assert body["success"] == 1
    assert body["balance"] == "many"
    assert all(
        not isinstance(value, int | float) or key == "success"
        for key, value in body.items()
    )


async def test_missing_keys_leave_only_the_kept_ones(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """Every key but the kept ones is removed."""
    await fault(sandbox, kind="missing_keys", keep=["success"], count=1)
    async with session.get(balance_url(sandbox)) as response:
        assert json.loads(await response.text()) == {"success": 1}


async def test_non_json_answers_pass_unchanged_through_rewrites(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """A body that is not JSON has no types to change."""
    await fault(sandbox, kind="wrong_types", path="/_functions/", count=1)
    url = f"{sandbox.base_url('coinsoftworks')}/nothing-here"
    async with session.get(url) as response:
        assert response.status == 404


async def test_rules_retire_at_their_sandbox_time(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """An outage with ``until`` ends when the sandbox clock reaches it."""
    until = sandbox.context.clock.now() + 3600
    await fault(sandbox, kind="drop_before", provider="jsecoin", until=until)
    with pytest.raises(ClientError):
        async with session.get(balance_url(sandbox)) as response:
            await response.read()
    sandbox.context.clock.advance(3600)
    async with session.get(balance_url(sandbox)) as response:
        assert response.status == 200
    assert await sandbox.admin("GET", "/faults") == []


async def test_jsecoin_getblock_limit_reads_as_the_provider_writes_it(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """HTTP 400 with a JSEcoin refusal about a per-30-minute limit."""
    await fault(
        sandbox,
        kind="status",
        provider="jsecoin",
        path="/getblock/",
        status=400,
        body=JSECOIN_GETBLOCK_LIMIT_BODY,
    )
    url = f"{sandbox.base_url('jsecoin')}/getblock/72318/{ALICE['api_key']}/"
    async with session.get(url) as response:
        assert response.status == 400
        body = json.loads(await response.text())
    assert body["fail"] == 1
    assert "per 30 mins" in body["notification"]


def test_keep_is_read_as_a_tuple_and_bad_paths_are_refused() -> None:
    """The admin API's JSON list becomes the rule's tuple; a bad regex is refused."""
    rule = FaultRule.from_dict({"kind": "missing_keys", "keep": ["a", "b"]})
    assert rule.keep == ("a", "b")
    with pytest.raises(ValueError, match="regular expression"):
        FaultRule.from_dict({"kind": "status", "path": "("})


async def test_slow_answer_applies_at_once_and_answers_later(
    sandbox: Sandbox, session: ClientSession
) -> None:
    """The write is applied before the answer leaves: a restart can fall in between."""
    await fault(sandbox, kind="slow_answer", seconds=0.3, path="/balance/", count=1)
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "1"})
    pending = asyncio.ensure_future(session.get(balance_url(sandbox)))
    await asyncio.sleep(0.1)
    assert not pending.done()
    async with await pending as response:
        assert json.loads(await response.text())["balance"] == 251.5
